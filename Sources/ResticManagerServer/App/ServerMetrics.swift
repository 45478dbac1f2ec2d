import Foundation
import Metrics
import Prometheus

/// Points swift-metrics at the registry `/metrics` renders. Once per process,
/// before the application is built.
public func bootstrapServerMetrics() {
    MetricsSystem.bootstrap(ServerMetrics.factory())
}

/// The server's metrics (SPEC §9.4). Process counters and histograms go
/// through swift-metrics into swift-prometheus's registry; what describes
/// the fleet (hosts by state, jobs, per-host last backup, open alerts) is
/// read from the store at scrape time, so it is right after a restart and
/// a deleted host leaves no stale series.
struct ServerMetrics: Sendable {
    let registry: PrometheusCollectorRegistry

    private let messagesIn = Counter(label: "rm_agent_messages_received_total")
    private let logLinesIn = Counter(label: "rm_agent_log_lines_received_total")
    private let messagesOut = Counter(label: "rm_agent_messages_sent_total")
    private let ingestDuration = Metrics.Timer(label: "rm_database_ingest_duration_seconds", preferredDisplayUnit: .seconds)
    private let bytesAdded = Counter(label: "rm_backup_bytes_added_total")

    init(registry: PrometheusCollectorRegistry = PrometheusMetricsFactory.defaultRegistry) {
        self.registry = registry
    }

    /// The factory `serve` bootstraps swift-metrics with. It renames the
    /// metrics Hummingbird's middleware records to Prometheus conventions.
    static func factory(registry: PrometheusCollectorRegistry = PrometheusMetricsFactory.defaultRegistry)
        -> PrometheusMetricsFactory
    {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
            .seconds(5), .seconds(10), .seconds(60), .seconds(600), .seconds(3600), .seconds(6 * 3600),
        ]
        factory.nameAndLabelSanitizer = { name, labels in
            let names = [
                "hb.requests": "rm_http_requests_total",
                "hb.request.errors": "rm_http_request_errors_total",
                "http.server.request.duration": "rm_http_request_duration_seconds",
                "http.server.active_requests": "rm_http_active_requests",
            ]
            let labelNames = [
                "http.route": "route", "http.request.method": "method", "http.response.status_code": "status",
                "error.type": "status",
            ]
            return (names[name] ?? name, labels.map { (labelNames[$0.0] ?? $0.0, $0.1) })
        }
        return factory
    }

    func countIn(_ messages: Int, logLines: Int) {
        messagesIn.increment(by: messages)
        logLines > 0 ? logLinesIn.increment(by: logLines) : ()
    }

    func countOut(_ messages: Int) { messagesOut.increment(by: messages) }

    func recordIngest(_ duration: Duration) { ingestDuration.recordSeconds(duration.timeInterval) }

    /// A job's end, as the agent reported it.
    func recordFinishedJob(kind: String, seconds: Double, bytesAdded added: Int64?) {
        Metrics.Timer(label: "rm_job_duration_seconds", dimensions: [("kind", kind)], preferredDisplayUnit: .seconds)
            .recordSeconds(max(0, seconds))
        if let added, added > 0 { bytesAdded.increment(by: Int(clamping: added)) }
    }

    func render(database: AppDatabase, hub: AgentHub) async throws -> String {
        let start = ContinuousClock.now
        let snapshot = try await database.metricsSnapshot()
        let openAlerts = try await database.openAlertCounts()
        let latency = (ContinuousClock.now - start).timeInterval
        var lines: [String] = []
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            lines.append("# HELP \(name) \(help)")
            lines.append("# TYPE \(name) \(type)")
            for sample in samples { lines.append("\(name)\(sample.labels) \(sample.value)") }
        }
        metric("rm_hosts", "gauge", "Hosts by connection state.",
               [("{state=\"online\"}", "\(snapshot.online)"), ("{state=\"offline\"}", "\(snapshot.offline)")])
        metric("rm_jobs", "gauge", "Jobs in the database by kind and status.",
               snapshot.jobs.map { ("{kind=\"\($0.kind)\",status=\"\($0.status)\"}", "\($0.count)") })
        metric("rm_last_successful_backup_timestamp_seconds", "gauge", "Finish time of each host's last good backup.",
               snapshot.lastBackups.map {
                   ("{host=\"\(Self.escape($0.hostName))\",host_id=\"\($0.host)\"}",
                    String(format: "%.0f", $0.time.timeIntervalSince1970))
               })
        metric("rm_open_alerts", "gauge", "Open alerts by rule.",
               AlertRule.allCases.map { ("{rule=\"\($0.rawValue)\"}", "\(openAlerts[$0] ?? 0)") })
        metric("rm_websocket_connections", "gauge", "Connected agents.", [("", "\(await hub.connectionCount)")])
        metric("rm_database_scrape_latency_seconds", "gauge", "Time the metrics queries took.",
               [("", String(format: "%.6f", latency))])
        return lines.joined(separator: "\n") + "\n" + registry.emitToString()
    }

    /// A Prometheus label value: backslash, quote and newline escaped.
    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
