import Foundation
import Hummingbird
import ResticManagerProtocol

/// The fleet at a glance: totals, then hosts that need attention first.
struct DashboardPage {
    let services: ServerServices
    let responder: WebResponder

    struct Row {
        let id: String
        let name: String
        let hostname: String
        let os: String
        let online: Bool
        let attention: Bool
        let reasons: String
        let lastBackupAge: String
        let lastBackupAt: String
        let lastBackupStatus: String
        let lastBackupJobID: String?
        /// Shown under a last run that did not succeed.
        let lastSuccess: String?
        let nextRun: String
        let nextRunAt: String
        let repoSize: String
        let scheduleSync: String
        /// "agent 0.2.0 available" when the server holds a newer agent package.
        let update: String?
    }

    struct Model {
        let rows: [Row]
        let hostCount: Int
        let onlineCount: Int
        let attentionCount: Int
        let healthyCount: Int
        let totalRepoSize: String
        let isEmpty: Bool
        let allHealthy: Bool
        let hasAttention: Bool
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.on("/", method: .get, access: .viewer, use: show)
    }

    @Sendable func show(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        var summaries: [HostSummary] = []
        var page = Page(limit: Page.maxLimit)
        repeat {
            let result = try await services.database.listHosts(page: page)
            summaries += result.items
            page.beforeRowID = result.nextCursor
        } while page.beforeRowID != nil
        let now = Date()
        let fleet = FleetOverview(summaries: summaries, schedules: try await services.database.enabledSchedulesByHost(),
                                  now: now)
        let rows = fleet.hosts.map { state in
            let summary = state.summary
            let version = summary.scheduleVersion
            return Row(
                id: summary.host.id.rawValue, name: summary.host.name, hostname: summary.host.hostname,
                os: [summary.host.os, summary.host.arch].filter { !$0.isEmpty }.joined(separator: "/"),
                online: summary.host.connected, attention: state.needsAttention,
                reasons: state.reasons.joined(separator: " · "),
                lastBackupAge: WebFormat.relative(summary.lastBackup?.finishedAt, now: now),
                lastBackupAt: WebFormat.machine(summary.lastBackup?.finishedAt),
                lastBackupStatus: summary.lastBackup?.status.rawValue ?? "none",
                lastBackupJobID: summary.lastBackup?.id.rawValue,
                lastSuccess: summary.lastBackup?.status == .succeeded
                    ? nil : summary.lastSuccessfulBackupAt.map { "last success \(WebFormat.relative($0, now: now))" }
                        ?? (summary.lastBackup == nil ? nil : "never succeeded"),
                nextRun: state.nextRun.map { WebFormat.relative($0, now: now) } ?? "—",
                nextRunAt: WebFormat.machine(state.nextRun),
                repoSize: WebFormat.bytes(summary.latestStats?.sizeBytes),
                scheduleSync: version.inSync ? "in sync" : "pending",
                update: services.packages.update(forAgentVersion: summary.host.agentVersion, arch: summary.host.arch)
                    .map { "agent \($0.version) available" })
        }
        let attention = rows.filter(\.attention).count
        let model = Model(
            rows: rows, hostCount: rows.count, onlineCount: rows.filter(\.online).count, attentionCount: attention,
            healthyCount: rows.count - attention,
            totalRepoSize: WebFormat.bytes(summaries.reduce(0) { $0 + ($1.latestStats?.sizeBytes ?? 0) }),
            isEmpty: rows.isEmpty, allHealthy: !rows.isEmpty && attention == 0, hasAttention: attention > 0)
        return try await responder.page("dashboard", title: "Fleet", section: "dashboard", page: model, request: request,
                              context: context)
    }
}
