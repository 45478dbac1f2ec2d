import ResticManagerProtocol
import ResticManagerCore

/// Turns restic's output lines, as they arrive, into job events, and keeps
/// what the outcome needs: the `summary` message, the number of read
/// errors, and the last lines of stderr.
///
/// - JSON lines (objects or arrays) become `.log(.event, …)`, other lines
///   `.log(.stdout|.stderr, …)`.
/// - `status` lines become `.progress`, at most one per `progressInterval`;
///   the newest one is held back and sent when the interval has passed,
///   and the `summary` ends the job with a final 100 % progress. Only one
///   status line per ``statusLogInterval`` (and the first) also goes to the
///   log as an event: restic writes several a second, the progress bar
///   already shows them, and a long backup would otherwise fill the job
///   log with them.
/// - Every line is scrubbed of secrets and capped at
///   ``maximumLogLineBytes`` before it leaves.
struct ResticOutputInterpreter {
    /// Longest log line sent to the server (its frames are capped at 1 MiB).
    static let maximumLogLineBytes = 64 * 1024
    /// How many stderr lines are kept to explain a failure.
    static let stderrTailLength = 30
    /// How often a `status` line is copied to the job log.
    static let statusLogInterval: Duration = .seconds(10)

    let jobID: String
    let scrubber: SecretScrubber
    let progressInterval: Duration
    let startedAt: ContinuousClock.Instant

    private(set) var summary: RawJSON?
    /// `message_type: error` lines: files restic could not read.
    private(set) var readErrorCount = 0
    private(set) var stderrTail: [String] = []
    private var lastProgressAt: ContinuousClock.Instant?
    private var lastStatusLoggedAt: ContinuousClock.Instant?
    private var heldProgress: JobProgressPayload?

    init(jobID: String, scrubber: SecretScrubber, progressInterval: Duration, startedAt: ContinuousClock.Instant) {
        self.jobID = jobID
        self.scrubber = scrubber
        self.progressInterval = progressInterval
        self.startedAt = startedAt
    }

    /// The events for one line.
    mutating func consume(_ line: ChildOutputLine, at now: ContinuousClock.Instant) -> [JobEvent] {
        let text = scrubber.scrub(line.text)
        if line.stream == .stderr {
            stderrTail.append(text)
            if stderrTail.count > Self.stderrTailLength { stderrTail.removeFirst() }
        }
        let message: JSONValue? =
            if let first = text.first(where: { !$0.isWhitespace }), first == "{" || first == "[" {
                JSONValue.parse(text)
            } else {
                nil
            }
        let messageType = message?["message_type"]?.stringValue

        if messageType == "status" {
            var events: [JobEvent] = []
            if lastStatusLoggedAt.map({ now - $0 >= Self.statusLogInterval }) ?? true {
                lastStatusLoggedAt = now
                events.append(Self.logEvent(.event, text))
            }
            // A newer status supersedes the held one.
            guard let message, let progress = progress(fromStatus: message, at: now) else { return events }
            if let last = lastProgressAt, now - last < progressInterval {
                heldProgress = progress
                return events
            }
            heldProgress = nil
            lastProgressAt = now
            return events + [.progress(progress)]
        }

        var events = flushHeldProgress(at: now)
        guard let message else {
            events.append(Self.logEvent(line.stream == .stdout ? .stdout : .stderr, text))
            return events
        }
        switch messageType {
        case "summary":
            summary = try? RawJSON(text: text)
            events.append(Self.logEvent(.event, text))
            // The summary is final: it replaces any held-back status.
            heldProgress = nil
            if let progress = progress(fromSummary: message) {
                events.append(.progress(progress))
                lastProgressAt = now
            }
        case "error":
            readErrorCount += 1
            events.append(Self.logEvent(.event, text))
        default:
            events.append(Self.logEvent(.event, text))
        }
        return events
    }

    /// Events still held back when restic has exited.
    mutating func finish(at now: ContinuousClock.Instant) -> [JobEvent] {
        defer { heldProgress = nil }
        return heldProgress.map { [.progress($0)] } ?? []
    }

    private mutating func flushHeldProgress(at now: ContinuousClock.Instant) -> [JobEvent] {
        guard let held = heldProgress, let last = lastProgressAt, now - last >= progressInterval else { return [] }
        heldProgress = nil
        lastProgressAt = now
        return [.progress(held)]
    }

    private func progress(fromStatus status: JSONValue, at now: ContinuousClock.Instant) -> JobProgressPayload? {
        guard let percent = status["percent_done"]?.doubleValue else { return nil }
        // A restore (restic ≥ 0.16) says `…_restored` where a backup says `…_done`.
        let bytesDone = status["bytes_done"]?.int64Value ?? status["bytes_restored"]?.int64Value ?? 0
        let elapsed = (now - startedAt) / .seconds(1)
        return JobProgressPayload(
            jobID: jobID,
            percentDone: min(max(percent, 0), 1),
            filesDone: status["files_done"]?.int64Value ?? status["files_restored"]?.int64Value ?? 0,
            totalFiles: status["total_files"]?.int64Value ?? 0,
            bytesDone: bytesDone,
            totalBytes: status["total_bytes"]?.int64Value ?? 0,
            etaSeconds: status["seconds_remaining"]?.int64Value ?? 0,
            throughputBps: elapsed > 0 ? Int64(Double(bytesDone) / elapsed) : 0
        )
    }

    private func progress(fromSummary summary: JSONValue) -> JobProgressPayload? {
        guard let files = summary["total_files_processed"]?.int64Value ?? summary["files_restored"]?.int64Value,
            let bytes = summary["total_bytes_processed"]?.int64Value ?? summary["bytes_restored"]?.int64Value
        else { return nil }
        let duration = summary["total_duration"]?.doubleValue ?? 0
        return JobProgressPayload(
            jobID: jobID,
            percentDone: 1,
            filesDone: files,
            totalFiles: files,
            bytesDone: bytes,
            totalBytes: bytes,
            etaSeconds: 0,
            throughputBps: duration > 0 ? Int64(Double(bytes) / duration) : 0
        )
    }

    /// A log event, cut to ``maximumLogLineBytes``. A cut JSON line is no
    /// longer JSON, so it goes out as plain stdout text.
    static func logEvent(_ stream: LogStreamKind, _ text: String) -> JobEvent {
        let utf8 = text.utf8
        guard utf8.count > maximumLogLineBytes else { return .log(stream, text) }
        var end = utf8.index(utf8.startIndex, offsetBy: maximumLogLineBytes)
        while end > utf8.startIndex, String.Index(end, within: text.unicodeScalars) == nil {
            end = utf8.index(before: end)
        }
        let kept = String(text[..<end])
        let dropped = utf8.count - kept.utf8.count
        return .log(stream == .event ? .stdout : stream, kept + " … [\(dropped) more bytes not shown]")
    }
}
