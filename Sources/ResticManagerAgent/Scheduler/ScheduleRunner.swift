import Foundation
import Logging
import ResticManagerCore
import ResticManagerProtocol
import ServiceLifecycle

/// Fires the enabled schedules of the last applied set on the host's local
/// wall clock (SPEC §5 "Scheduled"), with or without a server connection.
///
/// Each pass looks at the interval since the previous pass, so a fire time
/// is never run twice and a pass that was late (a suspended machine) runs a
/// due schedule once, not once per missed fire time.
public struct ScheduleRunner: Service {
    /// The longest sleep between passes: a changed clock or time zone is
    /// noticed within this.
    static let maxSleep = Duration.seconds(30)
    static let reportInterval: TimeInterval = 24 * 3600

    let store: AgentStateStore
    let queue: JobQueue
    let schedulesChanged: ChangeSignal
    let timeZone: @Sendable () -> TimeZone
    let logger: Logger

    public init(
        store: AgentStateStore, queue: JobQueue, schedulesChanged: ChangeSignal,
        timeZone: @escaping @Sendable () -> TimeZone = { TimeZone.current }, logger: Logger
    ) {
        self.store = store
        self.queue = queue
        self.schedulesChanged = schedulesChanged
        self.timeZone = timeZone
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var cursor = Date()
            var badExpressions: Set<String> = []
            while !Task.isCancelled {
                // Subscribe before reading the set: a change after this point wakes the sleep below.
                let changes = schedulesChanged.subscribe()
                let now = Date()
                let zone = timeZone()
                var nextFire: Date?
                let set: StoredScheduleSet
                do {
                    set = try await store.scheduleSet()
                } catch {
                    logger.error("cannot read schedules", metadata: ["error": "\(error)"])
                    set = StoredScheduleSet()
                }
                for schedule in set.schedules where schedule.enabled {
                    let cron: CronExpression
                    do {
                        cron = try CronExpression(schedule.cronExpr)
                    } catch {
                        if badExpressions.insert(schedule.id + schedule.cronExpr).inserted {
                            logger.error("schedule has an invalid cron expression; it never runs", metadata: [
                                "schedule_id": "\(schedule.id)", "cron": "\(schedule.cronExpr)", "error": "\(error)",
                            ])
                        }
                        continue
                    }
                    if let due = cron.nextRun(after: cursor, in: zone), due <= now {
                        await fire(schedule, due: due)
                    }
                    if let upcoming = cron.nextRun(after: now, in: zone) {
                        nextFire = min(nextFire ?? upcoming, upcoming)
                    }
                }
                cursor = now
                await requestDailyReport(now: now)
                var sleep = Self.maxSleep
                if let nextFire {
                    let until = Duration.milliseconds(Int64(max(0, nextFire.timeIntervalSince(Date())) * 1000) + 5)
                    sleep = min(sleep, until)
                }
                await Self.sleep(for: sleep, orUntil: changes)
            }
        }
    }

    /// Queues a run of `schedule` unless one is still queued or running.
    func fire(_ schedule: Schedule, due: Date) async {
        var metadata: Logger.Metadata = [
            "schedule_id": "\(schedule.id)", "kind": "\(schedule.kind.rawValue)", "due": "\(RFC3339.format(due))",
        ]
        do {
            if try await store.hasActiveJob(scheduleID: schedule.id) {
                logger.warning("schedule still running or queued; this run is skipped", metadata: metadata)
                return
            }
            let job = AcceptedJob(
                id: UUID().uuidString.lowercased(), kind: schedule.kind, trigger: .schedule, scheduleID: schedule.id,
                schedule: schedule, status: .queued, queuedAt: Date())
            try await store.acceptJob(job)
            metadata["job_id"] = "\(job.id)"
            logger.info("schedule fired", metadata: metadata)
            queue.wake.notify()
        } catch {
            metadata["error"] = "\(error)"
            logger.error("could not queue scheduled job", metadata: metadata)
        }
    }

    private func requestDailyReport(now: Date) async {
        guard let last = try? await store.lastReportAt() else {
            // Never reported: the first job or the first day will.
            try? await store.saveLastReportAt(now)
            return
        }
        if now.timeIntervalSince(last) >= Self.reportInterval {
            try? await store.saveLastReportAt(now)
            await queue.requestReport()
        }
    }

    private static func sleep(for duration: Duration, orUntil changes: AsyncStream<Void>) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: duration) }
            group.addTask {
                for await _ in changes { return }
            }
            await group.next()
            group.cancelAll()
        }
    }
}

extension ScheduleRunner: CustomStringConvertible {
    public var description: String { "ScheduleRunner" }
}
