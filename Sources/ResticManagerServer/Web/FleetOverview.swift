import Foundation
import ResticManagerCore
import ResticManagerProtocol

/// Answers "is everything backed up?" for the dashboard: which hosts need
/// attention and why, hosts needing attention first.
struct FleetOverview {
    /// A host without a successful backup for longer than this needs
    /// attention (SPEC §9's default for the alert rule).
    static let staleAfter: TimeInterval = 26 * 3600

    struct HostState {
        let summary: HostSummary
        /// The earliest next run over the host's enabled schedules.
        let nextRun: Date?
        let reasons: [String]
        var needsAttention: Bool { !reasons.isEmpty }
    }

    let hosts: [HostState]

    init(summaries: [HostSummary], schedules: [HostID: [ScheduleRecord]], now: Date = Date()) {
        hosts = summaries.map { summary in
            let zone = summary.host.scheduleTimeZone
            let nextRun = (schedules[summary.host.id] ?? [])
                .compactMap { try? CronExpression($0.cronExpr).nextRuns(after: now, in: zone, count: 1).first }
                .min()
            return HostState(summary: summary, nextRun: nextRun,
                             reasons: Self.reasons(summary, hasSchedules: schedules[summary.host.id] != nil, now: now))
        }
        .sorted { lhs, rhs in
            if lhs.needsAttention != rhs.needsAttention { return lhs.needsAttention }
            return lhs.summary.host.name.localizedStandardCompare(rhs.summary.host.name) == .orderedAscending
        }
    }

    /// Why a host needs attention, most urgent first; empty when it is fine.
    static func reasons(_ summary: HostSummary, hasSchedules: Bool, now: Date) -> [String] {
        var reasons: [String] = []
        if !summary.host.connected {
            let since = summary.host.lastSeenAt.map { " (last seen \(WebFormat.relative($0, now: now)))" } ?? ""
            reasons.append("offline" + since)
        }
        if !summary.repositoryConfigured {
            reasons.append("no repository configured")
        }
        if let last = summary.lastBackup, last.status == .failed {
            reasons.append("last backup failed")
        }
        if !hasSchedules {
            reasons.append("no enabled schedule")
        }
        if let success = summary.lastSuccessfulBackupAt {
            if now.timeIntervalSince(success) > staleAfter {
                reasons.append("no successful backup for \(WebFormat.span(now.timeIntervalSince(success)))")
            }
        } else {
            reasons.append("never backed up")
        }
        if !summary.scheduleVersion.inSync {
            reasons.append("schedule change not yet confirmed by the agent")
        }
        if summary.openAlerts > 0 {
            reasons.append(summary.openAlerts == 1 ? "1 open alert" : "\(summary.openAlerts) open alerts")
        }
        return reasons
    }
}
