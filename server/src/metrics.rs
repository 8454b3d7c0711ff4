//! Prometheus metrics, under TiKV's metric names where the meaning is the same, so TiKV's
//! Grafana dashboards apply to Strata.
//!
//! - gRPC: `tikv_grpc_msg_duration_seconds{type}`, `tikv_grpc_msg_fail_total{type}`.
//! - Commands (the transaction layer): `tikv_scheduler_command_duration_seconds{type}` and
//!   `tikv_storage_command_total{type}`, TiKV's label values (`prewrite`, `commit`, `raw_put`…).
//! - The engine, read at scrape time: see `engine` ([`Metrics::register_engine`]).
//! - The process (`process_cpu_seconds_total`, `process_resident_memory_bytes`,
//!   `process_open_fds`, …) on Linux, unprefixed as TiKV exports them.
//!
//! Concurrency: every metric is lock-free to update; handlers share one [`Metrics`] by `Arc`.

mod engine;

use std::sync::Arc;
use std::time::Duration;

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

/// The server's metrics and the registry `/metrics` renders.
#[derive(Debug)]
pub struct Metrics {
    /// What `/metrics` renders.
    pub registry: Registry,
    /// `tikv_grpc_msg_duration_seconds{type}`: handling time per gRPC method (TiKV's label
    /// values: `kv_get`, `raw_put`, …).
    pub grpc_msg_duration: HistogramVec,
    /// `tikv_grpc_msg_fail_total{type}`: requests answered with a region or key error, or a
    /// gRPC status.
    pub grpc_msg_fail: IntCounterVec,
    /// `tikv_scheduler_command_duration_seconds{type}`: time a command took in the
    /// transaction layer, latches and engine write included.
    pub scheduler_command_duration: HistogramVec,
    /// `tikv_storage_command_total{type}`: commands received by the transaction layer.
    pub storage_command_total: IntCounterVec,
}

impl Metrics {
    /// Registers every metric in a fresh registry.
    ///
    /// # Panics
    /// Never in practice: metric names and labels are constants checked by the tests below.
    #[allow(clippy::expect_used)]
    pub fn new() -> Arc<Metrics> {
        let registry = Registry::new();
        let grpc_msg_duration = HistogramVec::new(
            HistogramOpts::new(
                "tikv_grpc_msg_duration_seconds",
                "Bucketed histogram of grpc server messages",
            )
            .buckets(prometheus::exponential_buckets(0.00005, 2.0, 22).expect("constant buckets")),
            &["type"],
        )
        .expect("constant metric");
        let grpc_msg_fail = IntCounterVec::new(
            Opts::new(
                "tikv_grpc_msg_fail_total",
                "Total number of handle grpc message failure",
            ),
            &["type"],
        )
        .expect("constant metric");
        let scheduler_command_duration = HistogramVec::new(
            HistogramOpts::new(
                "tikv_scheduler_command_duration_seconds",
                "Bucketed histogram of command execution",
            )
            .buckets(prometheus::exponential_buckets(0.00005, 2.0, 22).expect("constant buckets")),
            &["type"],
        )
        .expect("constant metric");
        let storage_command_total = IntCounterVec::new(
            Opts::new(
                "tikv_storage_command_total",
                "Total number of commands received.",
            ),
            &["type"],
        )
        .expect("constant metric");
        registry
            .register(Box::new(grpc_msg_duration.clone()))
            .expect("unique metric");
        registry
            .register(Box::new(grpc_msg_fail.clone()))
            .expect("unique metric");
        registry
            .register(Box::new(scheduler_command_duration.clone()))
            .expect("unique metric");
        registry
            .register(Box::new(storage_command_total.clone()))
            .expect("unique metric");
        #[cfg(target_os = "linux")]
        registry
            .register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))
            .expect("unique metric");
        Arc::new(Metrics {
            registry,
            grpc_msg_duration,
            grpc_msg_fail,
            scheduler_command_duration,
            storage_command_total,
        })
    }

    /// Records one command of kind `ty` (TiKV's label, e.g. `prewrite`, `raw_get`) that took
    /// `elapsed` in the transaction layer.
    pub fn observe_scheduler(&self, ty: &str, elapsed: Duration) {
        self.storage_command_total.with_label_values(&[ty]).inc();
        self.scheduler_command_duration
            .with_label_values(&[ty])
            .observe(elapsed.as_secs_f64());
    }

    /// Exports `db`'s engine metrics (sizes, files per level, cache, flows) under TiKV's
    /// `tikv_engine_*` names, read from the engine on every scrape.
    ///
    /// # Errors
    /// `AlreadyReg` if an engine is registered already: one registry describes one store.
    pub fn register_engine(&self, db: Arc<lsm::Db>) -> prometheus::Result<()> {
        self.registry
            .register(Box::new(engine::EngineCollector::new(db)?))
    }

    /// The registry's metrics in Prometheus' text format (what `/metrics` answers).
    ///
    /// # Errors
    /// If a metric cannot be encoded (an invalid label value).
    pub fn render(&self) -> prometheus::Result<String> {
        use prometheus::Encoder;
        let mut out = Vec::new();
        prometheus::TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        String::from_utf8(out).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }

    /// Records one handled gRPC message of method `ty` (TiKV's label, e.g. `kv_get`).
    pub fn observe_grpc(&self, ty: &str, elapsed: Duration, failed: bool) {
        self.grpc_msg_duration
            .with_label_values(&[ty])
            .observe(elapsed.as_secs_f64());
        if failed {
            self.grpc_msg_fail.with_label_values(&[ty]).inc();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_messages_are_counted_under_tikv_names() {
        let m = Metrics::new();
        m.observe_grpc("kv_get", Duration::from_millis(1), false);
        m.observe_grpc("kv_get", Duration::from_millis(2), true);
        let families = m.registry.gather();
        let names: Vec<_> = families.iter().map(|f| f.name().to_string()).collect();
        assert!(names.contains(&"tikv_grpc_msg_duration_seconds".to_string()));
        let fail = m.grpc_msg_fail.with_label_values(&["kv_get"]).get();
        assert_eq!(fail, 1);
        let count = m
            .grpc_msg_duration
            .with_label_values(&["kv_get"])
            .get_sample_count();
        assert_eq!(count, 2);
    }

    #[test]
    fn scheduler_commands_are_counted_under_tikv_names() {
        let m = Metrics::new();
        m.observe_scheduler("prewrite", Duration::from_millis(1));
        m.observe_scheduler("prewrite", Duration::from_millis(3));
        m.observe_scheduler("commit", Duration::from_millis(1));
        let text = m.render().unwrap();
        assert!(
            text.contains("tikv_scheduler_command_duration_seconds_count{type=\"prewrite\"} 2"),
            "{text}"
        );
        assert!(text.contains("tikv_storage_command_total{type=\"prewrite\"} 2"));
        assert!(text.contains("tikv_storage_command_total{type=\"commit\"} 1"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn process_metrics_are_exported() {
        let text = Metrics::new().render().unwrap();
        assert!(text.contains("process_resident_memory_bytes"), "{text}");
        assert!(text.contains("process_cpu_seconds_total"));
    }

    #[test]
    fn engine_metrics_read_the_engine_at_scrape_time() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(lsm::Db::open(dir.path(), lsm::Options::default()).unwrap());
        let m = Metrics::new();
        m.register_engine(db.clone()).unwrap();
        assert!(
            m.register_engine(db.clone()).is_err(),
            "one engine per registry"
        );

        let before = m.render().unwrap();
        assert!(
            before.contains("tikv_engine_num_files_at_level{cf=\"write\",db=\"kv\",level=\"0\"} 0"),
            "{before}"
        );

        let write = db.cf_id("write").unwrap();
        for i in 0..100u32 {
            let key = format!("key{i:04}");
            db.put(
                write,
                key.as_bytes(),
                &[7; 100],
                lsm::WriteOptions::default(),
            )
            .unwrap();
        }
        db.flush().unwrap();
        let tables: u64 = db.current_version().all_files().map(|(_, f)| f.size).sum();
        assert!(tables > 0);

        let after = m.render().unwrap();
        assert!(
            after.contains(&format!(
                "tikv_engine_size_bytes{{db=\"kv\",type=\"write\"}} {tables}"
            )),
            "{after}"
        );
        assert!(after.contains("tikv_engine_size_bytes{db=\"kv\",type=\"default\"} 0"));
        assert!(
            after.contains("tikv_engine_num_files_at_level{cf=\"write\",db=\"kv\",level=\"0\"} 1")
        );
        assert!(after.contains("tikv_engine_event_total{cf=\"all\",db=\"kv\",type=\"flush\"} 1"));
        let stats = db.stats();
        assert!(after.contains(&format!(
            "tikv_engine_flow_bytes{{db=\"kv\",type=\"bytes_written\"}} {}",
            stats.user_bytes
        )));
        assert!(stats.user_bytes > 0);
        // A second scrape reports the same totals, not twice them.
        assert!(m.render().unwrap().contains(&format!(
            "tikv_engine_flow_bytes{{db=\"kv\",type=\"bytes_written\"}} {}",
            stats.user_bytes
        )));
    }
}
