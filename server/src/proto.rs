//! The generated wire types and services (TiKV's kvproto subset in `proto/`, and Strata's
//! own Raft transport, `strata_raft.proto`). Nothing outside `server/` sees these types:
//! the conversion modules map them to the libraries' own types.

#![allow(
    missing_docs,
    clippy::all,
    clippy::pedantic,
    missing_debug_implementations
)]

pub mod deadlock {
    tonic::include_proto!("deadlock");
}
pub mod eraftpb {
    tonic::include_proto!("eraftpb");
}
pub mod errorpb {
    tonic::include_proto!("errorpb");
}
pub mod keyspacepb {
    tonic::include_proto!("keyspacepb");
}
pub mod kvrpcpb {
    tonic::include_proto!("kvrpcpb");
}
pub mod metapb {
    tonic::include_proto!("metapb");
}
pub mod pdpb {
    tonic::include_proto!("pdpb");
}
/// Strata's own Raft transport between stores (`proto/strata_raft.proto`).
pub mod raftnet {
    tonic::include_proto!("strata.raftnet");
}
pub mod tikvpb {
    tonic::include_proto!("tikvpb");
}
