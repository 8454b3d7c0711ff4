//! Scenario: LoadKeyspace finds the default keyspace and refuses unknown names.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pd_common;

use pd_common::{assert_ok, error_type, Pd};
use server::proto::{keyspacepb, pdpb};

#[tokio::test]
async fn default_keyspace_only() {
    let dir = tempfile::tempdir().unwrap();
    let pd = Pd::start(dir.path()).await;
    let mut c = keyspacepb::keyspace_client::KeyspaceClient::connect(format!("http://{}", pd.addr))
        .await
        .unwrap();
    let load = |name: &str| keyspacepb::LoadKeyspaceRequest {
        header: pd.header(),
        name: name.into(),
    };
    let found = c.load_keyspace(load("DEFAULT")).await.unwrap().into_inner();
    assert_ok(&pd, found.header.as_ref());
    let meta = found.keyspace.unwrap();
    assert_eq!((meta.id, meta.name.as_str()), (0, "DEFAULT"));
    assert_eq!(meta.state, keyspacepb::KeyspaceState::Enabled as i32);

    let missing = c.load_keyspace(load("nope")).await.unwrap().into_inner();
    assert_eq!(
        error_type(missing.header.as_ref()),
        pdpb::ErrorType::EntryNotFound
    );
    assert!(missing.keyspace.is_none());
    pd.stop().await;
}
