import Foundation
import Hummingbird
import ResticManagerCore
import ResticManagerProtocol

/// The fleet at a glance (SPEC §11, §12): counts over every host, then one
/// page of hosts, those needing attention first, found by name and narrowed
/// by state or attention reason through bookmarkable query parameters (the
/// same ones `GET /api/v1/hosts` reads).
struct DashboardPage {
    let services: ServerServices
    let responder: WebResponder

    static let pageSize = 50
    /// Past this a page number is a typo or a probe, not a fleet.
    static let maxPage = 100_000

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

    struct Option {
        let value: String
        let label: String
        let selected: Bool
    }

    /// A reason with hosts, as a link that filters by it.
    struct ReasonCount {
        let reason: String
        let label: String
        let count: String
        let link: String
        let active: Bool
    }

    struct Model {
        let rows: [Row]
        let hostCount: String
        let onlineCount: String
        let attentionCount: String
        let healthyCount: String
        let totalRepoSize: String
        let isEmpty: Bool
        let allHealthy: Bool
        let hasAttention: Bool
        let search: String
        let statuses: [Option]
        let attentionChoices: [Option]
        let reasonCounts: [ReasonCount]
        let isFiltered: Bool
        let noMatch: Bool
        let showing: String
        let previousPage: String?
        let nextPage: String?
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.on("/", method: .get, access: .viewer, use: show)
    }

    @Sendable func show(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let filter = try HostController.filter(from: request)
        let pageNumber = try Self.pageNumber(request)
        let now = Date()
        let fleet = try await services.database.fleetPage(
            filter: filter, offset: (pageNumber - 1) * Self.pageSize, limit: Self.pageSize, now: now)
        let schedules = try await services.database.enabledSchedules(hostIDs: fleet.hosts.map(\.host.id))
        let counts = fleet.counts
        let rows = fleet.hosts.map { summary in
            Self.row(summary, schedules: schedules[summary.host.id] ?? [],
                     update: services.packages.update(forAgentVersion: summary.host.agentVersion, arch: summary.host.arch)
                        .map { "agent \($0.version) available" },
                     now: now)
        }
        let link = { (page: Int) in
            PageLink.to("/", query: filter.queryItems
                + (page > 1 ? [(name: "page", value: String(page))] : []))
        }
        let first = (pageNumber - 1) * Self.pageSize
        let model = Model(
            rows: rows, hostCount: WebFormat.count(Int64(counts.hosts)), onlineCount: WebFormat.count(Int64(counts.online)),
            attentionCount: WebFormat.count(Int64(counts.needingAttention)),
            healthyCount: WebFormat.count(Int64(counts.hosts - counts.needingAttention)),
            totalRepoSize: WebFormat.bytes(counts.repoSizeBytes),
            isEmpty: counts.hosts == 0, allHealthy: counts.hosts > 0 && counts.needingAttention == 0,
            hasAttention: counts.needingAttention > 0, search: filter.search ?? "",
            statuses: HostFilter.Presence.allCases.map {
                Option(value: $0.rawValue, label: $0.rawValue, selected: filter.presence == $0)
            },
            attentionChoices: [
                Option(value: "true", label: "needs attention", selected: filter.attention == .needed),
                Option(value: "false", label: "backed up, nothing to do", selected: filter.attention == .healthy),
            ] + AttentionReason.allCases.map {
                Option(value: $0.rawValue, label: AttentionText.label($0), selected: filter.attention == .reason($0))
            },
            reasonCounts: AttentionReason.allCases.compactMap { reason in
                guard let count = counts.byReason[reason], count > 0 else { return nil }
                var only = HostFilter()
                only.attention = .reason(reason)
                return ReasonCount(
                    reason: reason.rawValue, label: AttentionText.label(reason), count: WebFormat.count(Int64(count)),
                    link: PageLink.to("/", query: only.queryItems),
                    active: filter.attention == .reason(reason))
            },
            isFiltered: !filter.isEmpty, noMatch: counts.hosts > 0 && rows.isEmpty,
            showing: rows.isEmpty ? "" : "\(WebFormat.count(Int64(first + 1)))–\(WebFormat.count(Int64(first + rows.count))) "
                + "of \(WebFormat.count(Int64(fleet.matching)))",
            previousPage: pageNumber > 1 ? link(pageNumber - 1) : nil,
            nextPage: first + rows.count < fleet.matching ? link(pageNumber + 1) : nil)
        return try await responder.page("dashboard", title: "Fleet", section: "dashboard", page: model, request: request,
                                        context: context)
    }

    static func pageNumber(_ request: Request) throws -> Int {
        guard let text = request.uri.queryParameters["page"], !text.isEmpty else { return 1 }
        guard let page = Int(text), (1...maxPage).contains(page) else {
            throw APIError.validation("page", "must be a whole number from 1 to \(maxPage)")
        }
        return page
    }

    private static func row(_ summary: HostSummary, schedules: [ScheduleRecord], update: String?, now: Date) -> Row {
        let host = summary.host
        let zone = host.scheduleTimeZone
        let nextRun = schedules
            .compactMap { try? CronExpression($0.cronExpr).nextRuns(after: now, in: zone, count: 1).first }
            .min()
        let last = summary.lastBackup
        return Row(
            id: host.id.rawValue, name: host.name, hostname: host.hostname,
            os: [host.os, host.arch].filter { !$0.isEmpty }.joined(separator: "/"),
            online: host.connected, attention: !summary.attention.isEmpty,
            reasons: AttentionText.reasons(summary, now: now).joined(separator: " · "),
            lastBackupAge: WebFormat.relative(last?.finishedAt, now: now),
            lastBackupAt: WebFormat.machine(last?.finishedAt),
            lastBackupStatus: last?.status.rawValue ?? "none",
            lastBackupJobID: last?.jobID.rawValue,
            lastSuccess: last == nil || last?.status == .succeeded
                ? nil : summary.lastSuccessfulBackupAt.map { "last success \(WebFormat.relative($0, now: now))" }
                    ?? "never succeeded",
            nextRun: nextRun.map { WebFormat.relative($0, now: now) } ?? "—",
            nextRunAt: WebFormat.machine(nextRun),
            repoSize: WebFormat.bytes(summary.repoSizeBytes),
            scheduleSync: summary.scheduleVersion.inSync ? "in sync" : "pending",
            update: update)
    }
}
