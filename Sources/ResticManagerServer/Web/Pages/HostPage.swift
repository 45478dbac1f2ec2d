import Foundation
import Hummingbird
import ResticManagerProtocol

/// One host: facts, repository config, schedules with run-now, jobs,
/// snapshots and the repository size chart, plus the host's actions.
struct HostPage {
    let services: ServerServices
    let responder: WebResponder

    struct ScheduleRow {
        let id: String
        let kind: String
        let cronExpr: String
        let paths: String
        let enabled: Bool
        let nextRun: String
        let nextRunAt: String
    }

    struct SnapshotRow {
        let id: String
        let shortID: String
        let time: String
        let timeText: String
        let paths: String
        let tags: String
        let size: String
        let files: String
    }

    /// The config form as shown: stored values, or what was typed when saving failed.
    struct ConfigForm {
        var repoURL: String
        var repoUsername: String
        var hookShell: String
        let passwordSet: Bool
        let credentialSet: Bool
        var error: String? = nil
    }

    struct Model {
        let id: String
        let name: String
        let notes: String
        let online: Bool
        let facts: [Fact]
        let reasons: [String]
        /// The host's open alerts, shown near the top; nothing when there are none.
        let alerts: AlertTable
        let moreAlerts: Bool
        let config: ConfigForm?
        let repositoryConfigured: Bool
        let offerInit: Bool
        let schedules: [ScheduleRow]
        let jobs: [JobRow]
        let snapshots: [SnapshotRow]
        let chart: RepoSizeChart
        let stats: [Fact]
        // Mustache sees stored properties only, so the template's flags are stored too.
        let hasSchedules: Bool
        let hasJobs: Bool
        let hasSnapshots: Bool
        let moreSnapshots: Bool
        let hasReasons: Bool
        let hasStats: Bool
        /// Where this host lets restores write, or how to allow them.
        let restoreTargetsText: String
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.on("/hosts/{id}", method: .get, access: .viewer, use: show)
        group.on("/hosts/{id}/config", method: .post, access: .admin, use: saveConfig)
        group.on("/hosts/{id}/rename", method: .post, access: .operator, use: rename)
        group.on("/hosts/{id}/delete", method: .post, access: .admin, use: delete)
        group.on("/hosts/{id}/jobs", method: .post, access: .operator, use: runNow)
        group.on("/hosts/{id}/init", method: .post, access: .operator, use: initialize)
    }

    @Sendable func show(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try await render(request, context: context, configForm: nil, status: .ok)
    }

    private func render(_ request: Request, context: AuthenticatedContext, configForm: ConfigForm?,
                        status: HTTPResponse.Status) async throws -> Response {
        let id = HostID(try context.parameters.require("id"))
        guard let summary = try await services.database.hostSummary(id: id) else { throw APIError.notFound("host") }
        let host = summary.host
        let now = Date()
        let zone = host.scheduleTimeZone
        let schedules = try await services.database.schedules(hostID: id).map { Self.scheduleRow($0, zone: zone, now: now) }
        var filter = JobFilter()
        filter.hostID = id
        let jobs = try await services.database.listJobs(filter: filter, page: Page(limit: 15)).items
            .map { JobRow($0, now: now) }
        let snapshotPage = try await services.database.snapshots(hostID: id, page: Page(limit: 50))
        let snapshots = snapshotPage.items.map(Self.snapshotRow)
        let openAlerts = try await services.database.alerts(filter: AlertFilter(state: .open, hostID: id),
                                                            page: Page(limit: 20))
        let alerts = AlertTable(
            rows: openAlerts.items.map { AlertRow($0, mayAcknowledge: context.user.role >= .operator, now: now) },
            returnTo: "/hosts/\(id)", showHost: false)
        let statsHistory = try await services.database.repoStats(hostID: id, page: Page(limit: 200)).items
        var config = configForm
        if config == nil, context.user.role >= .admin {
            let stored = try await services.database.hostConfig(hostID: id)
            config = ConfigForm(repoURL: stored?.repoURL ?? "", repoUsername: stored?.repoUsername ?? "",
                                hookShell: stored?.hookShell ?? "", passwordSet: stored?.repoPasswordSealed != nil,
                                credentialSet: stored?.repoCredentialSealed != nil)
        }
        let facts = Self.facts(summary, update: services.packages.update(
            forAgentVersion: summary.host.agentVersion, arch: summary.host.arch), now: now)
        let latest = statsHistory.first
        let stats = latest.map { Self.statsFacts($0, now: now) } ?? []
        let reasons = AttentionText.reasons(summary, now: now)
        let model = Model(
            id: id.rawValue, name: host.name, notes: host.notes, online: host.connected, facts: facts,
            reasons: reasons, alerts: alerts, moreAlerts: openAlerts.nextCursor != nil,
            config: config, repositoryConfigured: summary.repositoryConfigured,
            offerInit: summary.repositoryConfigured && latest == nil && context.user.role >= .operator,
            schedules: schedules, jobs: jobs, snapshots: snapshots,
            chart: RepoSizeChart(samples: statsHistory.map { ($0.reportedAt, $0.sizeBytes) }), stats: stats,
            hasSchedules: !schedules.isEmpty, hasJobs: !jobs.isEmpty, hasSnapshots: !snapshots.isEmpty,
            moreSnapshots: snapshotPage.nextCursor != nil,
            hasReasons: !reasons.isEmpty, hasStats: !stats.isEmpty,
            restoreTargetsText: host.restoreTargets.isEmpty
                ? SnapshotPage.noRestoreHelp
                : "Restores onto this host may go into: \(host.restoreTargets.joined(separator: ", ")).")
        return try await responder.page("host", title: host.name, section: "dashboard", page: model, request: request,
                              context: context, status: status)
    }

    private static func scheduleRow(_ record: ScheduleRecord, zone: TimeZone, now: Date) -> ScheduleRow {
        let response = ScheduleResponse(record, timeZone: zone, now: now)
        return ScheduleRow(
            id: record.id.rawValue, kind: record.kind.rawValue, cronExpr: record.cronExpr,
            paths: record.paths.joined(separator: ", "), enabled: record.enabled,
            nextRun: response.nextRuns.first.map { WebFormat.relative($0, now: now) } ?? "—",
            nextRunAt: WebFormat.machine(response.nextRuns.first))
    }

    private static func snapshotRow(_ snapshot: SnapshotRecord) -> SnapshotRow {
        // restic before 0.17 reports no snapshot summary; zero then means unknown.
        let unknown = snapshot.fileCount == 0 && snapshot.sizeBytes == 0
        return SnapshotRow(
            id: snapshot.snapshotId, shortID: String(snapshot.snapshotId.prefix(8)), time: WebFormat.machine(snapshot.time),
            timeText: WebFormat.timestamp(snapshot.time), paths: snapshot.paths.joined(separator: ", "),
            tags: snapshot.tags.joined(separator: ", "), size: unknown ? "—" : WebFormat.bytes(snapshot.sizeBytes),
            files: unknown ? "—" : WebFormat.count(snapshot.fileCount))
    }

    private static func facts(_ summary: HostSummary, update: AgentPackage?, now: Date) -> [Fact] {
        let host = summary.host
        let version = summary.scheduleVersion
        return [
            Fact(label: "Hostname", value: host.hostname),
            Fact(label: "OS / arch", value: "\(host.os) / \(host.arch)"),
            Fact(label: "Agent", value: (host.agentVersion.isEmpty ? "—" : host.agentVersion) + (update.map {
                // The agent never updates itself (SPEC §13): say how.
                " — update available: \($0.version) (run the install line on the host again; no new token needed)"
            } ?? "")),
            Fact(label: "restic", value: host.resticVersion.isEmpty ? "—" : host.resticVersion),
            Fact(label: "Time zone", value: host.timezone ?? "UTC (not reported yet)"),
            Fact(label: "Last seen", value: host.connected ? "now (connected)" : WebFormat.relative(host.lastSeenAt, now: now)),
            Fact(label: "Enrolled", value: WebFormat.timestamp(host.enrolledAt)),
            Fact(label: "Schedule", value: version.inSync
                ? "in sync (version \(version.desiredVersion))"
                : "pending: agent has \(version.ackedVersion), server \(version.desiredVersion)"),
        ]
    }

    private static func statsFacts(_ stats: RepoStatsRecord, now: Date) -> [Fact] {
        [
            Fact(label: "Size", value: WebFormat.bytes(stats.sizeBytes)),
            Fact(label: "Snapshots", value: WebFormat.count(stats.snapshotCount)),
            Fact(label: "Dedup ratio", value: String(format: "%.2f×", stats.dedupRatio)),
            Fact(label: "Last check", value: stats.lastCheckAt.map {
                "\(stats.lastCheckStatus ?? "unknown"), \(WebFormat.relative($0, now: now))"
            } ?? "never"),
            Fact(label: "Locks", value: stats.lockState.isEmpty ? "—" : stats.lockState),
            Fact(label: "Reported", value: WebFormat.relative(stats.reportedAt, now: now)),
        ]
    }

    @Sendable func saveConfig(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let form = try await FormFields.of(request)
        // Secret fields left empty keep what is stored; the checkbox clears it.
        func secret(_ name: String) -> String? {
            if form.isChecked("clear_\(name)") { return "" }
            return (form[name] ?? "").isEmpty ? nil : form[name]
        }
        let body = HostController.ConfigRequest(
            repoUrl: form.text("repo_url"), repoUsername: form.text("repo_username"),
            repoPassword: secret("repo_password"), repoCredential: secret("repo_credential"),
            hookShell: form.text("hook_shell"))
        do {
            _ = try await HostController(services: services).setConfig(body, context: context)
        } catch {
            guard let error = FormFields.refusalShownOnTheForm(error) else { throw error }
            let stored = try await services.database.hostConfig(hostID: HostID(try context.parameters.require("id")))
            // Secrets are never echoed back, so say that they must be typed again.
            let typedSecrets = [("password", body.repoPassword), ("credential", body.repoCredential)]
                .filter { !($0.1 ?? "").isEmpty }.map(\.0)
            let note = typedSecrets.isEmpty
                ? "" : " The \(typedSecrets.joined(separator: " and ")) you typed \(typedSecrets.count == 1 ? "was" : "were") not saved; enter it again."
            let typed = ConfigForm(
                repoURL: form.text("repo_url"), repoUsername: form.text("repo_username"),
                hookShell: form.text("hook_shell"), passwordSet: stored?.repoPasswordSealed != nil,
                credentialSet: stored?.repoCredentialSealed != nil, error: "Not saved: \(error.message)." + note)
            return try await render(request, context: context, configForm: typed, status: error.status)
        }
        return WebResponse.redirect(to: "/hosts/\(try context.parameters.require("id"))#repository",
                                    flash: "Repository settings saved and sent to the agent.")
    }

    @Sendable func rename(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let form = try await FormFields.of(request)
        let body = HostController.UpdateRequest(name: form.text("name"), notes: form["notes"] ?? "")
        let host = try await HostController(services: services).update(body, context: context)
        return WebResponse.redirect(to: "/hosts/\(host.id)", flash: "Host details saved.")
    }

    @Sendable func delete(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try await HostController(services: services).delete(context: context)
        return WebResponse.redirect(to: "/", flash: "Host deleted; its agent token no longer works.")
    }

    @Sendable func runNow(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let form = try await FormFields.of(request)
        let body = JobController.RunRequest(kind: form.text("kind"), scheduleId: form.optionalText("schedule_id"),
                                            args: form.lines("paths"))
        let job = try await JobController(services: services).runNow(body, on: Self.hostID(context), context: context)
        return WebResponse.redirect(to: "/jobs/\(job.id)", flash: "\(job.kind.rawValue.capitalized) job queued.")
    }

    @Sendable func initialize(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let body = JobController.RunRequest(kind: JobKind.`init`.rawValue, scheduleId: nil, args: [])
        let job = try await JobController(services: services).runNow(body, on: Self.hostID(context), context: context)
        return WebResponse.redirect(to: "/jobs/\(job.id)", flash: "Repository initialization queued.")
    }

    private static func hostID(_ context: AuthenticatedContext) throws -> HostID {
        HostID(try context.parameters.require("id"))
    }
}
