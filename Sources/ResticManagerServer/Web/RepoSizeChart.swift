import Foundation

/// The repository size over time as the numbers an inline SVG line chart
/// needs. Built here rather than in the browser so the chart shows without
/// JavaScript.
struct RepoSizeChart {
    static let width = 640.0
    static let height = 180.0
    static let inset = 8.0

    struct Point {
        let x: String
        let y: String
        let label: String
    }

    let points: [Point]
    let polyline: String
    let maxLabel: String
    let firstDate: String
    let lastDate: String
    let summary: String
    let hasData: Bool

    /// `samples` in any order; the chart sorts them by time.
    init(samples: [(at: Date, bytes: Int64)]) {
        let sorted = samples.sorted { $0.at < $1.at }
        guard let first = sorted.first, let last = sorted.last else {
            points = []
            polyline = ""
            maxLabel = ""
            firstDate = ""
            lastDate = ""
            summary = "No repository statistics yet."
            hasData = false
            return
        }
        let top = Double(max(sorted.map(\.bytes).max() ?? 1, 1))
        let span = max(last.at.timeIntervalSince(first.at), 1)
        let plotWidth = Self.width - 2 * Self.inset
        let plotHeight = Self.height - 2 * Self.inset
        points = sorted.map { sample in
            // A single sample sits in the middle rather than on the edge.
            let fraction = sorted.count == 1 ? 0.5 : sample.at.timeIntervalSince(first.at) / span
            let x = Self.inset + fraction * plotWidth
            let y = Self.inset + plotHeight * (1 - Double(sample.bytes) / top)
            return Point(x: String(format: "%.1f", x), y: String(format: "%.1f", y),
                         label: "\(WebFormat.timestamp(sample.at)): \(WebFormat.bytes(sample.bytes))")
        }
        hasData = true
        polyline = points.map { "\($0.x),\($0.y)" }.joined(separator: " ")
        maxLabel = WebFormat.bytes(Int64(top))
        firstDate = WebFormat.timestamp(first.at)
        lastDate = WebFormat.timestamp(last.at)
        summary = "Repository size from \(WebFormat.bytes(first.bytes)) on \(firstDate) "
            + "to \(WebFormat.bytes(last.bytes)) on \(lastDate), \(sorted.count) samples."
    }
}
