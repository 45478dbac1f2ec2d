import BenchSupport
import Foundation

/// One measured scenario: how many log lines were committed in how long.
struct ScenarioResult: Sendable {
    enum Scenario: String, Sendable {
        case baseline = "baseline (raw inserts)"
        case webSocket = "websocket → server"
    }

    var engine: Engine
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

/// The fixed-width table the benchmark prints. Each row's share is of its
/// own engine's baseline, measured in the same run: the engines differ in
/// kind, and this machine's speed drifts between runs.
struct ResultTable {
    let results: [ScenarioResult]

    var engines: [Engine] { Engine.allCases.filter { engine in results.contains { $0.engine == engine } } }

    /// `result`'s lines/s in percent of its engine's baseline.
    func percentOfBaseline(_ result: ScenarioResult) -> Double {
        guard let baseline = results.first(where: { $0.engine == result.engine && $0.scenario == .baseline }) else {
            return .nan
        }
        return result.linesPerSecond / baseline.linesPerSecond * 100
    }

    func render() -> String {
        let header = [
            "engine", "scenario", "agents", "lines", "seconds", "lines/s", "% of engine's baseline",
            "server CPU µs/line", "bench CPU µs/line",
        ]
        let rows = results.map { result in
            [
                result.engine.rawValue, result.scenario.rawValue, "\(result.agents)", grouped(Double(result.lines)),
                String(format: "%.2f", result.seconds), grouped(result.linesPerSecond),
                String(format: "%.1f %%", percentOfBaseline(result)),
                result.microsecondsPerLine(result.serverCPU), result.microsecondsPerLine(result.benchCPU),
            ]
        }
        return TextTable(header: header, rows: rows, textColumns: 2).render()
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
