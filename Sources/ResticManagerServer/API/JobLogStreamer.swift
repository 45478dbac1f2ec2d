import Foundation
import ResticManagerProtocol

/// Feeds one Server-Sent Events client the log of a job: what is stored
/// after `after`, then every new line as it is committed, a `status` event
/// (the job) whenever its status changes, the latest progress, and an `end`
/// event once the job has ended and its log is drained.
struct JobLogStreamer: Sendable {
    let database: AppDatabase
    let events: JobEventBroadcaster
    let jobID: JobID
    var keepAlive: Duration = .seconds(15)

    func run(after: Int64, write: (String) async throws -> Void) async throws {
        let (subscription, wakeups) = await events.subscribe(jobID)
        do {
            try await stream(after: after, subscription: subscription, wakeups: wakeups, write: write)
        } catch {
            await events.unsubscribe(jobID, subscription)
            throw error
        }
        await events.unsubscribe(jobID, subscription)
    }

    private func stream(
        after: Int64, subscription: UUID, wakeups: AsyncStream<Void>, write: (String) async throws -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Wakes the loop periodically so idle connections get a keep-alive.
            group.addTask {
                while !Task.isCancelled {
                    try await Task.sleep(for: keepAlive)
                    await events.nudge(jobID, subscription)
                }
            }
            var last = after
            var lastProgress: String?
            var lastStatus: JobStatus?
            var iterator = wakeups.makeAsyncIterator()
            while true {
                guard let job = try await database.job(id: jobID) else { break }
                var lines: [JobLogRecord]
                repeat {
                    lines = try await database.jobLogs(jobID: jobID, afterSeq: last, limit: 500)
                    for line in lines {
                        try await write(Self.event("log", id: line.seq, data: Self.json(LogLineResponse(line))))
                        last = line.seq
                    }
                } while lines.count == 500
                if job.status != lastStatus, !job.status.isTerminal {
                    try await write(Self.event("status", id: nil, data: Self.json(JobResponse(job))))
                    lastStatus = job.status
                }
                if let progress = job.progress, progress != lastProgress, job.status == .running {
                    try await write(Self.event("progress", id: nil, data: progress))
                    lastProgress = progress
                }
                if job.status.isTerminal {
                    try await write(Self.event("end", id: nil, data: Self.json(JobResponse(job))))
                    break
                }
                guard await iterator.next() != nil else { break }
                try await write(": keep-alive\n\n")
            }
            group.cancelAll()
        }
    }

    private static func event(_ name: String, id: Int64?, data: String) -> String {
        var text = "event: \(name)\n"
        if let id { text += "id: \(id)\n" }
        // JSON text has no raw newlines, so one data line suffices.
        return text + "data: \(data)\n\n"
    }

    private static func json(_ value: some Encodable) -> String {
        (try? APIJSON.makeEncoder().encode(value)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
    }
}

/// Wakes live log viewers when a job's log or state changes.
actor JobEventBroadcaster {
    private var subscribers: [JobID: [UUID: AsyncStream<Void>.Continuation]] = [:]
    /// Streams of these jobs may be open on other replicas sharing the store.
    private let signals: ReplicaSignals

    init(signals: ReplicaSignals) {
        self.signals = signals
    }

    func subscribe(_ jobID: JobID) -> (UUID, AsyncStream<Void>) {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        subscribers[jobID, default: [:]][id] = continuation
        return (id, stream)
    }

    func unsubscribe(_ jobID: JobID, _ id: UUID) {
        subscribers[jobID]?[id]?.finish()
        subscribers[jobID]?[id] = nil
        if subscribers[jobID]?.isEmpty == true { subscribers[jobID] = nil }
    }

    /// Wakes the streams of these jobs, here and on the other replicas.
    func notify(_ jobs: some Sequence<JobID>) {
        let jobs = Array(jobs)
        notifyHere(jobs)
        if !jobs.isEmpty { signals.publish(.jobEvents(jobs)) }
    }

    /// Wakes the streams of these jobs on this replica only: what another
    /// replica signalled.
    func notifyHere(_ jobs: [JobID]) {
        for job in jobs {
            subscribers[job]?.values.forEach { $0.yield() }
        }
    }

    func nudge(_ jobID: JobID, _ id: UUID) {
        subscribers[jobID]?[id]?.yield()
    }
}
