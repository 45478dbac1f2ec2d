import Foundation
import ResticManagerCore
import ResticManagerProtocol

/// `restic-manager-agent status`: what the local state says, readable with
/// the server (and the daemon) down.
public enum AgentStatusReport {
    public static func render(
        store: AgentStateStore, stateDirectory: String, now: Date = Date(), timeZone: TimeZone = .current,
        jobLimit: Int = 10
    ) async throws -> String {
        var lines: [String] = []
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = timeZone
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss zzz"
        func time(_ date: Date?) -> String { date.map { formatter.string(from: $0) } ?? "-" }

        lines.append("State directory: \(stateDirectory)")
        guard let credential = try await store.credential() else {
            lines.append("Enrollment:      not enrolled (run `restic-manager-agent enroll --server URL --token TOKEN`)")
            return lines.joined(separator: "\n")
        }
        lines.append("Server:          \(credential.serverURL)")
        lines.append("Host id:         \(credential.hostID) (enrolled \(time(credential.enrolledAt)))")
        if let connection = try await store.connectionRecord() {
            lines.append("Connection:      \(describe(connection, time: time))")
            lines.append("Last connected:  \(time(connection.lastConnectedAt))")
        } else {
            lines.append("Connection:      never connected")
        }
        let config = try await store.config()
        if config.repoURL.isEmpty {
            lines.append("Repository:      not configured")
        } else {
            let password = config.repoPassword.isEmpty ? "password NOT set" : "password set"
            lines.append("Repository:      \(ResticCommandBuilder.redactedURL(config.repoURL)) (\(password))")
        }
        if let check = try await store.lastCheck() {
            lines.append("Last check:      \(check.status) at \(time(check.at))")
        }
        lines.append("Outbox:          \(try await store.outboxCount()) message(s) waiting for the server")
        lines.append("Agent version:   \(agentVersion)")
        if let notice = try await store.updateNotice(), isNewer(notice.latestVersion, than: agentVersion) {
            lines.append("Update:          \(notice.latestVersion) available at \(notice.packageURL) (told \(time(notice.receivedAt)))")
        }
        lines.append("Time zone:       \(timeZone.identifier)")

        let set = try await store.scheduleSet()
        lines.append("")
        lines.append("Schedules (version \(set.version), applied \(time(set.appliedAt))):")
        if set.schedules.isEmpty { lines.append("  none") }
        for schedule in set.schedules {
            lines.append("  " + describe(schedule, now: now, timeZone: timeZone, time: time))
        }

        let jobs = try await store.recentJobs(limit: jobLimit)
        lines.append("")
        lines.append("Recent jobs (newest first):")
        if jobs.isEmpty { lines.append("  none") }
        for job in jobs {
            var text = "  \(job.id)  \(job.kind.rawValue)  \(job.status.rawValue)  \(job.trigger.rawValue)"
            text += "  queued \(time(job.queuedAt))"
            if let finished = job.finishedAt { text += "  finished \(time(finished))" }
            if let code = job.exitCode, code >= 0 { text += "  exit \(code)" }
            if let error = job.error, !error.isEmpty { text += "  error: \(error)" }
            lines.append(text)
        }
        return lines.joined(separator: "\n")
    }

    /// A notice stays in the state after the upgrade it announced; only a
    /// version newer than this build still counts.
    static func isNewer(_ version: String, than running: String) -> Bool {
        guard let offered = SemanticVersion(version), let current = SemanticVersion(running) else { return false }
        return current < offered
    }

    /// The connection line: a record left by a daemon that died without a
    /// clean shutdown says so instead of claiming to be connected.
    private static func describe(_ connection: ConnectionRecord, time: (Date?) -> String) -> String {
        var text = "\(connection.state.rawValue) since \(time(connection.changedAt))"
        if let error = connection.lastError, connection.state != .connected { text += " — \(error)" }
        if connection.state == .stopped { return "agent not running (stopped \(time(connection.changedAt)))" }
        if let pid = connection.pid, !ProcessLiveness.mayBeAlive(pid) {
            return "agent not running (it stopped without a clean shutdown; last: \(text))"
        }
        return text
    }

    private static func describe(_ schedule: Schedule, now: Date, timeZone: TimeZone, time: (Date?) -> String)
        -> String
    {
        var next = "disabled"
        if schedule.enabled {
            if let cron = try? CronExpression(schedule.cronExpr) {
                next = "next " + time(cron.nextRun(after: now, in: timeZone))
            } else {
                next = "invalid cron expression"
            }
        }
        let what = schedule.paths.isEmpty ? "" : " " + schedule.paths.joined(separator: ",")
        return "\(schedule.id)  \(schedule.kind.rawValue)  \"\(schedule.cronExpr)\"\(what)  \(next)"
    }
}
