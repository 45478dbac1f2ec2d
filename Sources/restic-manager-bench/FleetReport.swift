import BenchSupport
import Foundation

/// Times of repeated calls, for percentiles.
struct LatencySample: Sendable {
    private(set) var milliseconds: [Double] = []

    var count: Int { milliseconds.count }

    mutating func record(_ duration: Duration) {
        milliseconds.append(duration.inSeconds * 1000)
    }

    /// Nearest-rank percentile, `fraction` in 0...1.
    func percentile(_ fraction: Double) -> Double {
        let sorted = milliseconds.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted[min(sorted.count - 1, max(0, Int((fraction * Double(sorted.count)).rounded(.up)) - 1))]
    }
}

/// One probe's outcome: its times, or why it has none.
struct ProbeResult: Sendable {
    let probe: FleetProbe
    /// nil when the server did not answer 200.
    let server: LatencySample?
    let raw: LatencySample
    let status: Int

    var verdict: String {
        guard let target = probe.target else { return "-" }
        guard let server else { return "not measured" }
        let p99 = server.percentile(0.99)
        var met = p99 <= target.p99Milliseconds
        if let ratio = target.maxRatioToBaseline { met = met && p99 <= ratio * raw.percentile(0.99) }
        return met ? "met" : "MISSED"
    }
}

/// The idle fleet's cost: CPU over a window and memory at its end.
struct IdleCost: Sendable {
    let agents: Int
    let seconds: Double
    let cpu: Duration
    let residentBytes: Int
    let residentBytesBeforeFleet: Int
    let closedByServer: Int

    var percentOfCore: Double {
        cpu.inSeconds / seconds * 100
    }
}

/// One engine's measurements of the seeded fleet.
struct FleetRun: Sendable {
    let engine: Engine
    let probes: [ProbeResult]
    let idle: IdleCost
    let ingestBaseline: ScenarioResult
    let ingest: ScenarioResult
}

/// The fleet benchmark's tables, with issue #12's targets marked; each
/// engine's row beside the other's, each against its own raw reads.
enum FleetReport {
    static func render(runs: [FleetRun]) -> String {
        var lines = [
            "| what | engine | URL | n | p50 ms | p99 ms | raw p50 ms | raw p99 ms | p99 / raw | target | |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|---|---|",
        ]
        let probes = runs.first?.probes.indices ?? 0..<0
        for index in probes {
            for run in runs {
                let result = run.probes[index]
                let raw = result.raw
                let target = result.probe.target?.description ?? "-"
                let what = "| \(result.probe.label) | \(run.engine.rawValue) | `\(result.probe.path)` |"
                guard let server = result.server else {
                    lines.append(
                        "\(what) 0 | HTTP \(result.status) | | \(format(raw.percentile(0.5))) | "
                            + "\(format(raw.percentile(0.99))) | | \(target) | \(result.verdict) |")
                    continue
                }
                let ratio = server.percentile(0.99) / raw.percentile(0.99)
                lines.append(
                    "\(what) \(server.count) | \(format(server.percentile(0.5))) | \(format(server.percentile(0.99))) | "
                        + "\(format(raw.percentile(0.5))) | \(format(raw.percentile(0.99))) | "
                        + "\(String(format: "%.1f×", ratio)) | \(target) | \(result.verdict) |")
            }
        }
        lines += ["", "| idle fleet | engine | value | target | |", "|---|---|---:|---|---|"]
        for run in runs {
            let idle = run.idle
            let engine = run.engine.rawValue
            let mib = Double(idle.residentBytes) / 1_048_576
            let perAgent = Double(idle.residentBytes - idle.residentBytesBeforeFleet) / Double(max(1, idle.agents)) / 1024
            lines += [
                "| \(idle.agents) agents, CPU over \(Int(idle.seconds)) s | \(engine) | "
                    + "\(String(format: "%.2f", idle.percentOfCore)) % of a core | ≤ 3 % | "
                    + "\(idle.percentOfCore <= 3 ? "met" : "MISSED") |",
                "| RSS | \(engine) | \(String(format: "%.0f", mib)) MiB | ≤ 1024 MiB | \(mib <= 1024 ? "met" : "MISSED") |",
                "| RSS per agent (fleet's share) | \(engine) | \(String(format: "%.1f", perAgent)) KiB | | |",
                "| sockets the server closed | \(engine) | \(idle.closedByServer) | 0 | "
                    + "\(idle.closedByServer == 0 ? "met" : "MISSED") |",
            ]
        }
        lines += ["", "Raw reads (plain SQL on the same store, no server; the same statements on both engines):"]
        lines += (runs.first?.probes ?? []).map { "- \($0.probe.label): \($0.probe.sameRows)" }
        return lines.joined(separator: "\n")
    }

    private static func format(_ milliseconds: Double) -> String { String(format: "%.2f", milliseconds) }
}

/// A process's resident memory, from `/proc/<pid>/status` (Linux; 0 elsewhere).
func residentBytes(ofProcess pid: Int32) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
        let kib = Int(line.split(separator: " ").dropFirst().first ?? "")
    else { return 0 }
    return kib * 1024
}
