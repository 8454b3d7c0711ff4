//! Generates the gRPC types and services from `proto/` with `protox` (a protobuf compiler in
//! Rust), so building needs no system `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let roots = [
        "proto/tikvpb.proto",
        "proto/pdpb.proto",
        "proto/keyspacepb.proto",
        "proto/strata_raft.proto",
    ];
    println!("cargo:rerun-if-changed=proto");
    let descriptors = protox::compile(roots, ["proto"])?;
    tonic_prost_build::configure()
        .build_server(true)
        // Clients: the bad-input tests speak raw gRPC, and nodes talk to PD and each other.
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}
