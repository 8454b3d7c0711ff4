//! Scenario: a client discovers PD (GetMembers with no header), learns the cluster id, and
//! requests naming another cluster are refused; the cluster id survives a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pd_common;

use pd_common::{assert_ok, Pd};
use server::proto::pdpb;

#[tokio::test]
async fn members_cluster_id_and_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let pd = Pd::start(dir.path()).await;
    let mut client = pd.client().await;

    let resp = client
        .get_members(pdpb::GetMembersRequest { header: None })
        .await
        .unwrap()
        .into_inner();
    assert_ok(&pd, resp.header.as_ref());
    let cluster_id = resp.header.as_ref().unwrap().cluster_id;
    assert_ne!(cluster_id, 0);
    assert_eq!(resp.members.len(), 1);
    let me = &resp.members[0];
    assert_eq!(me.client_urls, vec![format!("http://{}", pd.addr)]);
    assert_eq!(me.member_id, pd.server.member_id());
    assert_eq!(resp.leader.as_ref(), Some(me));
    assert_eq!(resp.etcd_leader.as_ref(), Some(me));

    // The advertised URL is dialable.
    let mut via_url = pdpb::pd_client::PdClient::connect(me.client_urls[0].clone())
        .await
        .unwrap();
    let again = via_url
        .is_bootstrapped(pdpb::IsBootstrappedRequest {
            header: pd.header(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_ok(&pd, again.header.as_ref());
    assert!(!again.bootstrapped);

    // Another cluster's id is refused (as PD: FailedPrecondition); no id at all is accepted.
    let wrong = Some(pdpb::RequestHeader {
        cluster_id: cluster_id.wrapping_add(1),
        sender_id: 0,
    });
    let err = client
        .is_bootstrapped(pdpb::IsBootstrappedRequest { header: wrong })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
    let err = client
        .get_cluster_config(pdpb::GetClusterConfigRequest { header: wrong })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
    let tso = pdpb::TsoRequest {
        header: wrong,
        count: 1,
        dc_location: String::new(),
    };
    let mut stream = client
        .tso(tonic::codegen::tokio_stream::iter(vec![tso]))
        .await
        .unwrap()
        .into_inner();
    let err = stream.message().await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
    let ok = client
        .is_bootstrapped(pdpb::IsBootstrappedRequest { header: None })
        .await
        .unwrap()
        .into_inner();
    assert_ok(&pd, ok.header.as_ref());

    pd.stop().await;
    let pd = Pd::start(dir.path()).await;
    assert_eq!(
        pd.server.cluster_id(),
        cluster_id,
        "the cluster id is persisted"
    );
    pd.stop().await;
}
