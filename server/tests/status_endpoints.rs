//! The status server as a client sees it: started on an ephemeral port, asked over raw
//! HTTP/1.1 for `/metrics`, `/status`, `/config` and an unknown path, with a real engine's
//! metrics registered; then shut down.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use server::config::Config;
use server::metrics::Metrics;
use server::status::{self, StatusState};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A response: status code, headers (lower-cased names), body.
struct Response {
    code: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// `GET path` with `Connection: close`, read to the end. The server answers these small
/// documents with a content length (not chunked), so the body is the rest of the stream.
async fn get(addr: std::net::SocketAddr, path: &str) -> Response {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let code = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Response {
        code,
        headers,
        body: body.to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_server_answers_metrics_status_config_and_404() {
    // A real engine with one flushed table in `write`.
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(lsm::Db::open(dir.path(), lsm::Options::default()).unwrap());
    let write = db.cf_id("write").unwrap();
    for i in 0..50u32 {
        db.put(
            write,
            format!("k{i:03}").as_bytes(),
            b"value",
            lsm::WriteOptions::default(),
        )
        .unwrap();
    }
    db.flush().unwrap();
    let table_bytes: u64 = db.current_version().all_files().map(|(_, f)| f.size).sum();
    assert!(table_bytes > 0);

    let metrics = Metrics::new();
    metrics.register_engine(db.clone()).unwrap();
    metrics.observe_grpc("kv_get", std::time::Duration::from_millis(1), false);

    let mut config = Config::default();
    config.server.max_key_size = server::config::ReadableSize::kib(4);
    let state = StatusState::new(metrics, Arc::new(config.clone()))
        .with_node_info(|| serde_json::json!({ "store_id": 42 }));

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(status::serve(listener, state, async move {
        let _ = stopped.await;
    }));

    let metrics = get(addr, "/metrics").await;
    assert_eq!(metrics.code, 200);
    assert_eq!(
        metrics.header("content-type"),
        Some("text/plain; version=0.0.4")
    );
    let m = &metrics.body;
    assert!(
        m.contains(&format!(
            "tikv_engine_size_bytes{{db=\"kv\",type=\"write\"}} {table_bytes}"
        )),
        "{m}"
    );
    assert!(m.contains("tikv_engine_num_files_at_level{cf=\"write\",db=\"kv\",level=\"0\"} 1"));
    assert!(m.contains("tikv_engine_block_cache_size_bytes{cf=\"all\",db=\"kv\"}"));
    assert!(m.contains("tikv_engine_cache_efficiency{db=\"kv\",type=\"block_cache_miss\"}"));
    assert!(m.contains("tikv_engine_compaction_flow_bytes{db=\"kv\",type=\"bytes_written\"}"));
    assert!(m.contains("tikv_grpc_msg_duration_seconds_count{type=\"kv_get\"} 1"));
    #[cfg(target_os = "linux")]
    assert!(m.contains("process_resident_memory_bytes"));

    let status = get(addr, "/status").await;
    assert_eq!(status.code, 200);
    assert_eq!(status.header("content-type"), Some("application/json"));
    let s = status.json();
    assert_eq!(s["store_id"], 42);
    assert_eq!(s["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(s["addr"], "127.0.0.1:20160");
    assert!(s["uptime_seconds"].as_f64().unwrap() >= 0.0);

    let shown = get(addr, "/config").await;
    assert_eq!(shown.code, 200);
    let c = shown.json();
    assert_eq!(c, serde_json::to_value(&config).unwrap());
    assert_eq!(c["server"]["max-key-size"], "4KiB");
    assert_eq!(c["lsm"]["write-buffer-size"], "64MiB");

    let missing = get(addr, "/no-such-page").await;
    assert_eq!(missing.code, 404);
    assert_eq!(get(addr, "/").await.code, 404);

    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the listener is closed after shutdown"
    );
}
