import BenchSupport
import Foundation

/// One measured scenario: how many log lines were committed in how long.
struct ScenarioResult: Sendable {
    enum Scenario: String, Sendable {
        case baseline = "baseline (raw inserts)"
        case webSocket = "websocket → server"
    }

    var scenario: Scenario
    var agents: Int
    var lines: Int
    var duration: Duration
    /// CPU the server process spent meanwhile (WebSocket scenarios, Linux).
    var serverCPU: Duration?
    /// CPU this process spent meanwhile: the inserter, or the simulated agents.
    var benchCPU: Duration?

    var seconds: Double { duration.inSeconds }

    var linesPerSecond: Double { seconds > 0 ? Double(lines) / seconds : 0 }

    func microsecondsPerLine(_ cpu: Duration?) -> String {
        guard let cpu, lines > 0 else { return "-" }
        return String(format: "%.1f", cpu.inSeconds * 1e6 / Double(lines))
    }
}

/// The fixed-width table the benchmark prints.
struct ResultTable {
    let results: [ScenarioResult]
    let baseline: ScenarioResult

    func render() -> String {
        let header = [
            "scenario", "agents", "lines", "seconds", "lines/s", "% of baseline", "server CPU µs/line",
            "bench CPU µs/line",
        ]
        let rows = results.map { result in
            [
                result.scenario.rawValue, "\(result.agents)", grouped(Double(result.lines)),
                String(format: "%.2f", result.seconds), grouped(result.linesPerSecond),
                String(format: "%.1f %%", result.linesPerSecond / baseline.linesPerSecond * 100),
                result.microsecondsPerLine(result.serverCPU), result.microsecondsPerLine(result.benchCPU),
            ]
        }
        return TextTable(header: header, rows: rows, textColumns: 1).render()
    }

    private func grouped(_ value: Double) -> String {
        let digits = String(Int(value.rounded()))
        var out = ""
        for (offset, character) in digits.reversed().enumerated() {
            if offset > 0, offset % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return String(out.reversed())
    }
}
