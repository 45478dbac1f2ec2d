import Foundation
import ResticManagerCore
import Testing

@testable import ResticManagerServer

@Suite struct WebChannelFormTests {
    @Test func headerLinesBecomeTheHeadersObject() throws {
        let headers = try ChannelForm.headers("Authorization: Bearer abc\r\n\r\n  X-Team:ops  \nX-Link: https://a.example/x?y=1\n")
        #expect(headers == ["Authorization": "Bearer abc", "X-Team": "ops", "X-Link": "https://a.example/x?y=1"])
        #expect(try ChannelForm.headers("") == [:])
        #expect(try ChannelForm.headers("X-Empty:") == ["X-Empty": ""])
    }

    @Test func badHeaderLinesNameTheLine() {
        for (text, words) in [("X-A: 1\nno colon", "line 2"), (": value", "no header name"),
                              ("X-A: 1\nx-a: 2", "twice")] {
            do {
                _ = try ChannelForm.headers(text)
                Issue.record("\(text.debugDescription) was accepted")
            } catch let error as APIError {
                #expect(error.fields?.keys.first == "config.headers")
                #expect(error.message.contains(words), "\(error.message)")
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
    }

    @Test func webhookFormBecomesTheAPIRequest() throws {
        let form = FormFields(values: [
            "kind": "email", "name": " ops ", "url": " https://hooks.example/x ", "secret": "s3cret",
            "headers": "Authorization: Bearer t", "event_alert_opened": "on", "enabled": "on",
        ])
        // The kind is the page's, not the form's.
        let request = try ChannelForm.request(from: form, kind: .webhook)
        #expect(request.name == "ops" && request.kind == "webhook" && request.enabled == true)
        #expect(request.events == ["alert.opened"])
        #expect(request.config == .object([
            "url": .string("https://hooks.example/x"), "secret": .string("s3cret"),
            "headers": .object(["Authorization": .string("Bearer t")]),
        ]))
    }

    @Test func emptySecretsAreKeptAndCheckedBoxesClearThem() throws {
        let kept = try ChannelForm.request(
            from: FormFields(values: ["url": "https://h.example", "secret": "", "headers": "\n"]), kind: .webhook)
        #expect(kept.config == .object(["url": .string("https://h.example")]))
        #expect(kept.events == [] && kept.enabled == false)
        let cleared = try ChannelForm.request(
            from: FormFields(values: ["url": "https://h.example", "secret": "typed", "clear_secret": "on",
                                      "headers": "X-A: 1", "clear_headers": "on"]), kind: .webhook)
        #expect(cleared.config == .object(["url": .string("https://h.example"), "secret": .string(""),
                                           "headers": .object([:])]))
    }

    @Test func emailFormTakesRecipientsOnePerLine() throws {
        let form = FormFields(values: [
            "host": "smtp.example", "port": "465", "security": "tls", "username": "", "password": "pw",
            "from": "rm@example.com", "to": "a@example.com\r\n\r\n  b@example.com \n", "event_alert_resolved": "on",
        ])
        let request = try ChannelForm.request(from: form, kind: .email)
        #expect(request.events == ["alert.resolved"])
        #expect(request.config == .object([
            "host": .string("smtp.example"), "port": .integer(465), "security": .string("tls"),
            "username": .string(""), "password": .string("pw"), "from": .string("rm@example.com"),
            "to": .array([.string("a@example.com"), .string("b@example.com")]),
        ]))
        // A port that is not a number goes to the API as typed, so its message names the field.
        let typed = try ChannelForm.request(from: FormFields(values: ["port": "smtp"]), kind: .email)
        #expect(typed.config["port"] == .string("smtp"))
        #expect(try ChannelForm.request(from: FormFields(values: [:]), kind: .email).config["port"] == nil)
    }

    @Test func typedSecretsAreNamedNeverShown() {
        let form = FormFields(values: ["secret": "x", "headers": " \n", "password": "p"])
        #expect(ChannelForm.typedSecrets(form, kind: .webhook) == ["secret"])
        #expect(ChannelForm.typedSecrets(form, kind: .email) == ["password"])
        let view = ChannelForm.View(kind: .webhook, action: "/alerts/channels", isNew: true, fields: .init(),
                                    error: APIError.validation("config.url", "must be an http:// or https:// URL"),
                                    typedSecrets: ["secret", "headers"])
        #expect(view.formError?.hasSuffix("The secret and headers you typed were not saved; enter them again.") == true)
        #expect(view.errors == ["url": "must be an http:// or https:// URL"])
        #expect(view.formID == "webhook-form")
    }

    @Test func fieldErrorsLandOnTheirInputs() {
        #expect(ChannelForm.fieldErrors(APIError.validation("config.to[1]", "must be one email address"))
            == ["to": "to[1]: must be one email address"])
        #expect(ChannelForm.fieldErrors(APIError.validation("config.headers.X-A", "must be a string"))
            == ["headers": "headers.X-A: must be a string"])
        #expect(ChannelForm.fieldErrors(APIError.validation("events[0]", "must be alert.opened"))
            == ["events": "events[0]: must be alert.opened"])
        #expect(ChannelForm.fieldErrors(APIError.validation("config.port", "must be an integer"))
            == ["port": "must be an integer"])
        #expect(ChannelForm.fieldErrors(APIError.validation("config.bogus", "is not a webhook setting"))
            == ["form": "bogus: is not a webhook setting"])
        #expect(ChannelForm.fieldErrors(nil) == [:])
    }
}

@Suite struct WebAlertRuleFormTests {
    @Test func emptyThresholdIsTheDefaultAndEmptyRepeatIsNone() throws {
        let request = try AlertRulesPage.request(
            from: FormFields(values: ["threshold_minutes": " ", "repeat_minutes": ""]), rule: .hostOffline)
        #expect(request.enabled == false)
        #expect(request.thresholdMinutes == 15)
        #expect(request.repeatMinutes == .off)
        let changed = try AlertRulesPage.request(
            from: FormFields(values: ["enabled": "on", "threshold_minutes": "0.5", "repeat_minutes": "60"]),
            rule: .hostOffline)
        #expect(changed.enabled == true && changed.thresholdMinutes == 0.5 && changed.repeatMinutes == .minutes(60))
    }

    @Test func rulesWithoutAThresholdPassAHandMadeOneToTheAPI() throws {
        #expect(try AlertRulesPage.request(from: FormFields(values: [:]), rule: .jobFailed).thresholdMinutes == nil)
        #expect(try AlertRulesPage.request(from: FormFields(values: ["threshold_minutes": "5"]), rule: .jobFailed)
            .thresholdMinutes == 5)
    }

    @Test func wordsAreRefusedNamingTheField() {
        for field in ["threshold_minutes", "repeat_minutes"] {
            do {
                _ = try AlertRulesPage.request(from: FormFields(values: [field: "soon"]), rule: .backupMissed)
                Issue.record("\(field)=soon was accepted")
            } catch let error as APIError {
                #expect(error.fields?.keys.first == field)
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
    }

    @Test func minutesReadNaturally() {
        #expect(AlertRulesPage.minutes(60) == "60")
        #expect(AlertRulesPage.minutes(0.5) == "0.5")
        #expect(AlertRulesPage.minutes(nil) == "")
    }

    @Test func aRefusedRowShowsWhatWasTyped() {
        let refused = AlertRulesPage.Refused(
            rule: .backupMissed, form: FormFields(values: ["threshold_minutes": "0", "repeat_minutes": "x"]),
            error: APIError.validation("threshold_minutes", "must be more than 0"))
        let row = AlertRulesPage.row(.defaults(.backupMissed), refused: refused)
        #expect(row.threshold == "0" && row.repeatMinutes == "x" && row.enabled == false)
        #expect(row.errors == ["threshold_minutes": "must be more than 0"])
        let stored = AlertRulesPage.row(.defaults(.backupMissed), refused: nil)
        #expect(stored.threshold == "60" && stored.repeatMinutes == "" && stored.enabled && stored.formError == nil)
        #expect(stored.thresholdText == "60 min" && stored.repeatText == "none")
    }
}

@Suite struct WebAlertListTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func alert(state: AlertState = .open, acknowledgedBy: String? = nil) -> AlertWithHost {
        AlertWithHost(alert: AlertRecord(
            id: AlertID("a1"), rule: .backupMissed, hostId: HostID("h1"), subject: "s1", scheduleId: nil, jobId: nil,
            severity: .critical, state: state, message: "Backup <late>", openedAt: now.addingTimeInterval(-600),
            resolvedAt: state == .resolved ? now : nil, acknowledgedAt: acknowledgedBy.map { _ in now.addingTimeInterval(-60) },
            acknowledgedBy: acknowledgedBy, lastNotifiedAt: nil), hostName: "")
    }

    @Test func onlyOpenUnacknowledgedAlertsOfferAcknowledge() {
        #expect(AlertRow(alert(), mayAcknowledge: true, now: now).canAcknowledge)
        #expect(!AlertRow(alert(), mayAcknowledge: false, now: now).canAcknowledge)
        #expect(!AlertRow(alert(state: .resolved), mayAcknowledge: true, now: now).canAcknowledge)
        let acknowledged = AlertRow(alert(acknowledgedBy: "user:ops"), mayAcknowledge: true, now: now)
        #expect(!acknowledged.canAcknowledge)
        #expect(acknowledged.acknowledged == "ops, 1 min ago")
        let row = AlertRow(alert(), mayAcknowledge: true, now: now)
        #expect(row.openedAgo == "10 min ago" && row.hostName == "deleted host" && row.isCritical)
    }

    @Test func acknowledgingReturnsOnlyToALocalPath() {
        #expect(AlertsPage.returnPath("/hosts/h1") == "/hosts/h1")
        #expect(AlertsPage.returnPath("/alerts?rule=backup_missed") == "/alerts?rule=backup_missed")
        #expect(AlertsPage.returnPath("/") == "/")
        for hostile in ["//evil.example", "https://evil.example", "", nil] {
            #expect(AlertsPage.returnPath(hostile) == "/alerts", "\(String(describing: hostile)) was accepted")
        }
    }

    @Test func linksKeepTheFiltersAndEncodeCursors() {
        let filters = AlertsPage.filters(AlertFilter(hostID: HostID("h 1&x"), rule: .jobFailed))
        #expect(AlertsPage.link(filters) == "/alerts?rule=job_failed&host_id=h%201%26x")
        #expect(AlertsPage.link(filters + [("cursor", "cjE+/=")]) == "/alerts?rule=job_failed&host_id=h%201%26x&cursor=cjE%2B%2F%3D")
        #expect(AlertsPage.link(AlertsPage.filters(AlertFilter())) == "/alerts")
    }

    @Test func theAlertTableEscapesMessagesAndCarriesTheFormToken() throws {
        let templates = try WebTemplates()
        let table = AlertTable(rows: [AlertRow(alert(), mayAcknowledge: true, now: now)], returnTo: "/alerts?rule=x",
                               showHost: true)
        let page = try #require(templates.library.render(
            TemplateValues.convert(PageView(title: "A", session: nil, page: AlertsPageModelStub(open: table))) ?? [:],
            withTemplate: "alerts"))
        #expect(page.contains("Backup &lt;late&gt;") && !page.contains("Backup <late>"))
        #expect(page.contains("action=\"/alerts/a1/acknowledge\""))
        #expect(page.contains("name=\"return_to\" value=\"/alerts?rule=x\""))
    }
}

/// Just enough of the alerts page's model for its template.
private struct AlertsPageModelStub {
    let open: AlertTable
    let openCount = "1"
    let openIsFirst = true
    let resolvedIsFirst = true
}

@Suite struct WebPingURLFormTests {
    @Test func emptyKeepsTheCheckboxClearsTypedSets() {
        #expect(SchedulePage.pingURL(from: FormFields(values: ["ping_url": " "])) == nil)
        #expect(SchedulePage.pingURL(from: FormFields(values: [:])) == nil)
        #expect(SchedulePage.pingURL(from: FormFields(values: ["ping_url": " https://hc.example/u "]))
            == "https://hc.example/u")
        #expect(SchedulePage.pingURL(from: FormFields(values: ["ping_url": "https://x", "clear_ping_url": "on"])) == "")
        let request = try? SchedulePage.request(
            from: FormFields(values: ["kind": "backup", "cron_expr": "0 1 * * *", "ping_url": "https://hc.example/u"]),
            existing: nil)
        #expect(request?.pingUrl == "https://hc.example/u")
    }
}
