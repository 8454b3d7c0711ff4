//! Prometheus metrics, under TiKV's metric names where the meaning is the same, so TiKV's
//! Grafana dashboards apply to Strata.
//!
//! Concurrency: every metric is lock-free to update; handlers share one [`Metrics`] by `Arc`.

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
        registry
            .register(Box::new(grpc_msg_duration.clone()))
            .expect("unique metric");
        registry
            .register(Box::new(grpc_msg_fail.clone()))
            .expect("unique metric");
        Arc::new(Metrics {
            registry,
            grpc_msg_duration,
            grpc_msg_fail,
        })
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
}
