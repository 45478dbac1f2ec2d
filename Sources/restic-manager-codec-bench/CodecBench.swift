import Foundation
import ResticManagerProtocol

/// Measures envelope decoding (scripts/bench-codec): ``EnvelopeCodec``
/// against `JSONDecoder` reading the same frames into plain `Decodable`
/// mirrors of the same fields, in the same run, on the same bytes. Both
/// sides produce typed values and parse `ts` with the same RFC 3339 parser,
/// so the difference is the JSON reading.
@main
enum CodecBench {
    static func main() throws {
        let arguments = CommandLine.arguments.dropFirst()
        let iterations = arguments.first.flatMap(Int.init) ?? 100_000
        let rounds = 5
        print("envelope decoding, \(iterations) frames per round, best of \(rounds) rounds")
        print("frame          bytes  EnvelopeCodec  JSONDecoder  ratio")
        var ratios: [Double] = []
        for sample in Sample.all {
            let bytes = Array(sample.frame.utf8)
            let data = Data(bytes)
            // Both decoders must read the frame before it is timed.
            _ = try EnvelopeCodec.decode(bytes)
            _ = try sample.decodeWithFoundation(data)
            var codecBest = Duration.seconds(1_000)
            var foundationBest = Duration.seconds(1_000)
            for _ in 0..<rounds {
                codecBest = min(codecBest, try time(iterations) { _ = try EnvelopeCodec.decode(bytes) })
                foundationBest = min(foundationBest, try time(iterations) { try sample.decodeWithFoundation(data) })
            }
            let ratio = seconds(foundationBest) / seconds(codecBest)
            ratios.append(ratio)
            print(
                sample.name.padding(toLength: 13, withPad: " ", startingAt: 0),
                String(bytes.count).leftPadded(6),
                nanos(codecBest, iterations).leftPadded(14),
                nanos(foundationBest, iterations).leftPadded(12),
                String(format: "%5.1fx", ratio)
            )
        }
        let geometricMean = exp(ratios.map { log($0) }.reduce(0, +) / Double(ratios.count))
        print(String(format: "geometric mean: EnvelopeCodec %.1fx faster than JSONDecoder", geometricMean))
    }

    static func time(_ iterations: Int, _ body: () throws -> Void) throws -> Duration {
        let clock = ContinuousClock()
        let start = clock.now
        for _ in 0..<iterations { try body() }
        return clock.now - start
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func nanos(_ duration: Duration, _ iterations: Int) -> String {
        String(format: "%.0f ns", seconds(duration) / Double(iterations) * 1e9)
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

/// One kind of frame and its `JSONDecoder` counterpart.
struct Sample: Sendable {
    var name: String
    var frame: String
    var decodeWithFoundation: @Sendable (Data) throws -> Void

    static let all: [Sample] = [
        Sample(
            name: "log.stream",
            frame: #"{"type":"log.stream","id":"0b6f5a1e-2c4d-4f8e-9a7b-3c2d1e0f9a8b","ts":"2024-05-01T12:00:00.123456Z","#
                + #""payload":{"job_id":"7d3c2b1a-0f9e-4d8c-b7a6-5e4d3c2b1a0f","seq":1234,"ts":"2024-05-01T12:00:00.1234Z","#
                + #""stream":"stdout","payload":"{\"message_type\":\"verbose_status\",\"action\":\"new\",\"item\":\"/home/user/projects/report-2024.pdf\"}"}}"#,
            decodeWithFoundation: {
                let envelope = try foundationDecoder.decode(Mirror<LogStreamMirror>.self, from: $0)
                try check(envelope)
                // The codec parses the line's own time too.
                guard RFC3339.parse(envelope.payload.ts) != nil else { throw BenchError.badTime }
            }
        ),
        Sample(
            name: "job.progress",
            frame: #"{"type":"job.progress","id":"1c7f6b2e-3d5e-4a9f-8b8c-4d3e2f1a0b9c","ts":"2024-05-01T12:00:00.5Z","#
                + #""payload":{"job_id":"7d3c2b1a-0f9e-4d8c-b7a6-5e4d3c2b1a0f","percent_done":0.4213,"files_done":1520,"#
                + #""total_files":4410,"bytes_done":734003200,"total_bytes":1742209024,"eta_seconds":95,"throughput_bps":10485760}}"#,
            decodeWithFoundation: { try check(JSONDecoder().decode(Mirror<JobProgressMirror>.self, from: $0)) }
        ),
        Sample(
            name: "ack",
            frame: #"{"type":"ack","id":"2d8a7c3f-4e6f-4b0a-9c9d-5e4f3a2b1c0d","ts":"2024-05-01T12:00:01Z","#
                + #""payload":{"ids":["0b6f5a1e-2c4d-4f8e-9a7b-3c2d1e0f9a8b","1c7f6b2e-3d5e-4a9f-8b8c-4d3e2f1a0b9c","#
                + #""3e9b8d4a-5f7a-4c1b-8d0e-6f5a4b3c2d1e","4fac9e5b-6a8b-4d2c-9e1f-7a6b5c4d3e2f"]}}"#,
            decodeWithFoundation: { try check(JSONDecoder().decode(Mirror<AckMirror>.self, from: $0)) }
        ),
    ]

    /// Does what the codec does after reading: parse `ts`.
    static func check<P>(_ envelope: Mirror<P>) throws {
        guard RFC3339.parse(envelope.ts) != nil else { throw BenchError.badTime }
    }
}

enum BenchError: Error { case badTime }

/// One decoder for every frame, as a long-lived connection would keep.
let foundationDecoder = JSONDecoder()

struct Mirror<Payload: Decodable>: Decodable {
    var type: String
    var id: String
    var ts: String
    var payload: Payload
}

struct LogStreamMirror: Decodable {
    var job_id: String
    var seq: Int64
    var ts: String
    var stream: String
    var payload: String
}

struct JobProgressMirror: Decodable {
    var job_id: String
    var percent_done: Double
    var files_done: Int64
    var total_files: Int64
    var bytes_done: Int64
    var total_bytes: Int64
    var eta_seconds: Int64
    var throughput_bps: Double
}

struct AckMirror: Decodable {
    var ids: [String]
}
