//! The gRPC `keyspacepb.Keyspace` service. Strata has one keyspace, `DEFAULT` (id 0,
//! enabled): what API V1 clients and `tikv-client`'s keyspace lookup expect.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::cluster::PdError;
use super::PdServer;
use crate::proto::{keyspacepb, pdpb};

/// The name of the default keyspace (PD's `DEFAULT`).
const DEFAULT_KEYSPACE: &str = "DEFAULT";

/// The keyspace service.
#[derive(Debug)]
pub(crate) struct KeyspaceService {
    pd: Arc<PdServer>,
}

impl KeyspaceService {
    pub fn new(pd: Arc<PdServer>) -> Self {
        KeyspaceService { pd }
    }
}

/// The keyspace called `name`, if there is one.
fn load(name: &str) -> Result<keyspacepb::KeyspaceMeta, PdError> {
    if name != DEFAULT_KEYSPACE {
        return Err(PdError::new(
            pdpb::ErrorType::EntryNotFound,
            format!("keyspace {name:?} not found"),
        ));
    }
    Ok(keyspacepb::KeyspaceMeta {
        id: 0,
        name: name.into(),
        state: keyspacepb::KeyspaceState::Enabled as i32,
        ..Default::default()
    })
}

#[tonic::async_trait]
impl keyspacepb::keyspace_server::Keyspace for KeyspaceService {
    async fn load_keyspace(
        &self,
        req: Request<keyspacepb::LoadKeyspaceRequest>,
    ) -> Result<Response<keyspacepb::LoadKeyspaceResponse>, Status> {
        let r = req.into_inner();
        self.pd.check_header(r.header.as_ref())?;
        self.pd
            .reply(load(&r.name).map(|meta| keyspacepb::LoadKeyspaceResponse {
                keyspace: Some(meta),
                ..Default::default()
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_default_keyspace_exists() {
        let meta = load("DEFAULT").unwrap();
        assert_eq!((meta.id, meta.name.as_str()), (0, "DEFAULT"));
        assert_eq!(meta.state, keyspacepb::KeyspaceState::Enabled as i32);
        assert_eq!(
            load("other").unwrap_err().kind,
            pdpb::ErrorType::EntryNotFound
        );
        assert!(load("default").is_err());
    }
}
