//! How PD answers over gRPC, shared by its services: the response header (cluster id, or
//! the refusal as `pdpb.Error`), the cluster id check, region answers, and the task that
//! serves a bidirectional stream until the client or the server closes it.

use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tonic::codegen::tokio_stream::wrappers::ReceiverStream;
use tonic::{Response, Status, Streaming};

use super::cluster::PdError;
use super::region_tree::RegionEntry;
use super::PdServer;
use crate::proto::{keyspacepb, pdpb};

/// Responses carry a `header`; lets one helper fill it for every response type.
pub(crate) trait WithHeader: Default {
    fn set_header(&mut self, header: Option<pdpb::ResponseHeader>);
}

macro_rules! with_header {
    ($($t:ty),* $(,)?) => {$(
        impl WithHeader for $t {
            fn set_header(&mut self, header: Option<pdpb::ResponseHeader>) {
                self.header = header;
            }
        }
    )*};
}

with_header!(
    pdpb::TsoResponse,
    pdpb::BootstrapResponse,
    pdpb::IsBootstrappedResponse,
    pdpb::AllocIdResponse,
    pdpb::GetStoreResponse,
    pdpb::PutStoreResponse,
    pdpb::GetAllStoresResponse,
    pdpb::StoreHeartbeatResponse,
    pdpb::RegionHeartbeatResponse,
    pdpb::GetRegionResponse,
    pdpb::ScanRegionsResponse,
    pdpb::AskBatchSplitResponse,
    pdpb::ReportBatchSplitResponse,
    pdpb::GetClusterConfigResponse,
    pdpb::GetGcSafePointResponse,
    pdpb::UpdateGcSafePointResponse,
    keyspacepb::LoadKeyspaceResponse,
);

impl PdServer {
    /// Refuses a request naming another cluster (a zero id is accepted: not yet known).
    pub(crate) fn check_header(&self, header: Option<&pdpb::RequestHeader>) -> Result<(), Status> {
        let id = header.map_or(0, |h| h.cluster_id);
        if id != 0 && id != self.cluster_id {
            return Err(Status::failed_precondition(format!(
                "mismatch cluster id, need {} but got {id}",
                self.cluster_id
            )));
        }
        Ok(())
    }

    /// The response for `r`: its value with a plain header, or the error in the header.
    pub(crate) fn reply<T: WithHeader>(
        &self,
        r: Result<T, PdError>,
    ) -> Result<Response<T>, Status> {
        let (mut resp, header) = match r {
            Ok(t) => (t, self.header()),
            Err(e) => (T::default(), self.error_header(e)),
        };
        resp.set_header(header);
        Ok(Response::new(resp))
    }
}

pub(crate) fn region_response(entry: Option<RegionEntry>) -> pdpb::GetRegionResponse {
    match entry {
        Some(e) => pdpb::GetRegionResponse {
            leader: e.leader_or_first_peer(),
            region: Some(e.region),
            ..Default::default()
        },
        // As PD: no region is a successful answer without one.
        None => pdpb::GetRegionResponse::default(),
    }
}

/// Runs `handle` on each message of `inbound` on its own task, forwarding what it returns
/// (`None`: nothing to send; an `Err` status ends the stream) until the client closes, or
/// `closing` turns true (shutdown: an open stream would otherwise keep the server up).
pub(crate) fn serve_stream<In, Out, F>(
    pd: Arc<PdServer>,
    mut closing: watch::Receiver<bool>,
    mut inbound: Streaming<In>,
    mut handle: F,
) -> ReceiverStream<Result<Out, Status>>
where
    In: Send + 'static,
    Out: Send + 'static,
    F: FnMut(&PdServer, In) -> Option<Result<Out, Status>> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let msg = tokio::select! {
                m = inbound.message() => m,
                _ = closing.wait_for(|c| *c) => break,
            };
            let Ok(Some(msg)) = msg else { break };
            let Some(out) = handle(&pd, msg) else {
                continue;
            };
            let end = out.is_err();
            if tx.send(out).await.is_err() || end {
                break;
            }
        }
    });
    ReceiverStream::new(rx)
}
