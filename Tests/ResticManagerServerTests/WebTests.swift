import Foundation
import ResticManagerCore
import ResticManagerProtocol
import Testing

@testable import ResticManagerServer

@Suite struct WebTemplateTests {
    @Test func everyEmbeddedTemplateParsesAndRendersThroughTheLayout() throws {
        let templates = try WebTemplates()
        for source in WebTemplates.sources where source.name != "layout" && !WebTemplates.partials.contains(source.name) {
            let html = templates.library.render(
                PageView(title: "T<itle>", session: nil, page: ["x": "y"]), withTemplate: source.name)
            let page = try #require(html, "template \(source.name) did not render")
            #expect(page.hasPrefix("<!doctype html>"), "\(source.name) does not extend the layout")
            #expect(page.contains("T&lt;itle&gt; · restic-manager"), "\(source.name) does not escape the title")
        }
    }

    @Test func assetsHaveStableContentTypesAndETags() throws {
        let css = try #require(WebAssets.assets["app.css"])
        let js = try #require(WebAssets.assets["app.js"])
        #expect(css.contentType.hasPrefix("text/css"))
        #expect(js.contentType.hasPrefix("text/javascript"))
        #expect(css.etag != js.etag)
        #expect(!css.bytes.isEmpty && !js.bytes.isEmpty)
    }
}

@Suite struct RepoSizeChartTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func noSamplesMeansNoChart() {
        let chart = RepoSizeChart(samples: [])
        #expect(!chart.hasData)
        #expect(chart.polyline.isEmpty)
    }

    @Test func aSingleSampleSitsInTheMiddleAtTheTop() {
        let chart = RepoSizeChart(samples: [(start, 1024)])
        #expect(chart.points.map(\.x) == ["320.0"])
        #expect(chart.points.map(\.y) == ["8.0"])
    }

    @Test func samplesAreSortedByTimeAndScaledToTheLargest() {
        let chart = RepoSizeChart(samples: [(start.addingTimeInterval(200), 2048), (start, 0),
                                            (start.addingTimeInterval(100), 1024)])
        #expect(chart.polyline == "8.0,172.0 320.0,90.0 632.0,8.0")
        #expect(chart.maxLabel == "2.0 KiB")
        #expect(chart.summary.contains("3 samples"))
    }
}

@Suite struct WebFormTests {
    @Test func nextMustBeALocalPath() {
        #expect(LoginPage.safeNext("/hosts/1?x=2") == "/hosts/1?x=2")
        for hostile in ["//evil.example", "https://evil.example", "/\\evil.example", "evil", "", "/login?next=/x",
                        "/a\nSet-Cookie: x=1", "/\t/evil.example/", "/\t\\evil.example", "/\u{0B}/evil", "/\u{7F}/x",
                        "/\u{A0}/evil", "/ /evil"] {
            #expect(LoginPage.safeNext(hostile) == "/", "\(hostile.debugDescription) was accepted")
        }
        #expect(LoginPage.safeNext(nil) == "/")
    }

    @Test func formShapes() {
        let form = FormFields(values: ["paths": "/etc\r\n\r\n  /home  \n", "tags": " a, b ,,c", "enabled": "on"])
        #expect(form.lines("paths") == ["/etc", "/home"])
        #expect(form.commaList("tags") == ["a", "b", "c"])
        #expect(form.isChecked("enabled"))
        #expect(!form.isChecked("prune"))
        #expect(form.optionalText("missing") == nil)
    }

    @Test func scheduleFormBecomesTheAPIRequest() throws {
        let form = FormFields(values: [
            "kind": "forget", "cron_expr": " 0 3 * * * ", "paths": "", "tags": "nightly, db",
            "keep_daily": "7", "keep_weekly": "", "keep_within": "30d", "prune": "on",
            "options": #"{"limit_upload_kib": 2048}"#, "enabled": "on",
        ])
        let request = try SchedulePage.request(from: form, existing: nil)
        #expect(request.kind == "forget")
        #expect(request.cronExpr == "0 3 * * *")
        #expect(request.tags == ["nightly", "db"])
        #expect(request.retentionPolicy == .object(["keep_daily": .integer(7), "keep_within": .string("30d"),
                                                    "prune": .bool(true)]))
        #expect(request.options == .object(["limit_upload_kib": .integer(2048)]))
        #expect(request.enabled == true)
        #expect(request.preHook == nil)
    }

    @Test func aFormWithoutHookFieldsKeepsTheStoredHooks() throws {
        let now = Date()
        let existing = ScheduleRecord(
            id: ScheduleID("s"), hostId: HostID("h"), kind: .backup, cronExpr: "0 1 * * *", paths: ["/a"], excludes: [],
            tags: [], retentionPolicy: nil, options: nil, preHook: "pg_dump db > /a/db.sql", postHook: "", enabled: true,
            createdAt: now, updatedAt: now)
        let request = try SchedulePage.request(
            from: FormFields(values: ["kind": "backup", "cron_expr": "0 1 * * *", "paths": "/a"]), existing: existing)
        #expect(request.preHook == "pg_dump db > /a/db.sql")
        #expect(request.enabled == false)
    }

    @Test func badNumbersAndOptionsNameTheirField() {
        #expect(throws: APIError.self) { try SchedulePage.request(from: FormFields(values: ["keep_daily": "seven"]), existing: nil) }
        do {
            _ = try SchedulePage.request(from: FormFields(values: ["options": "[1,2]"]), existing: nil)
            Issue.record("a JSON array was accepted as options")
        } catch let error as APIError {
            #expect(error.fields?.keys.first == "options")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func fieldErrorsLandOnTheirInputs() {
        let errors = SchedulePage.fieldErrors(APIError.validation("retention_policy.keep_daily", "must be a whole number"))
        #expect(errors == ["keep_daily": "must be a whole number"])
        #expect(SchedulePage.fieldErrors(APIError.validation("paths[2]", "must be a path"))
            == ["paths": "paths[2]: must be a path"])
        #expect(SchedulePage.fieldErrors(APIError.validation("options.compression", "must be auto"))
            == ["options": "options.compression: must be auto"])
    }
}

@Suite struct WebFormatTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func sizesUseBinaryUnits() {
        #expect(WebFormat.bytes(nil) == "—")
        #expect(WebFormat.bytes(512) == "512 B")
        #expect(WebFormat.bytes(1536) == "1.5 KiB")
        #expect(WebFormat.bytes(300 * 1024 * 1024) == "300 MiB")
    }

    @Test func relativeTimesReadNaturally() {
        #expect(WebFormat.relative(nil, now: now) == "never")
        #expect(WebFormat.relative(now.addingTimeInterval(-10), now: now) == "just now")
        #expect(WebFormat.relative(now.addingTimeInterval(-300), now: now) == "5 min ago")
        #expect(WebFormat.relative(now.addingTimeInterval(3 * 3600), now: now) == "in 3 h")
        #expect(WebFormat.relative(now.addingTimeInterval(-3 * 86400), now: now) == "3 d ago")
    }

    @Test func durationsAndTimestamps() {
        #expect(WebFormat.duration(5.4) == "5 s")
        #expect(WebFormat.duration(65) == "1 m 05 s")
        #expect(WebFormat.duration(3723) == "1 h 02 m")
        #expect(WebFormat.timestamp(Date(timeIntervalSince1970: 0)) == "1970-01-01 00:00 UTC")
    }
}

@Suite struct TemplateValuesTests {
    struct Inner { let name: String }
    struct Model {
        let title: String
        let missing: String?
        let present: String?
        let inner: Inner
        let rows: [Inner]
        let errors: [String: String]
        let count: Int
    }

    @Test func structsBecomeDictionariesAndNilFieldsDisappear() throws {
        let model = Model(title: "T", missing: nil, present: "p", inner: Inner(name: "i"),
                          rows: [Inner(name: "a"), Inner(name: "b")], errors: ["cron_expr": "bad"], count: 3)
        let values = try #require(TemplateValues.convert(model) as? [String: Any])
        #expect(values["title"] as? String == "T")
        #expect(values.keys.contains("missing") == false)
        #expect(values["present"] as? String == "p")
        #expect((values["inner"] as? [String: Any])?["name"] as? String == "i")
        #expect((values["rows"] as? [Any])?.compactMap { ($0 as? [String: Any])?["name"] as? String } == ["a", "b"])
        #expect(values["errors"] as? [String: String] == ["cron_expr": "bad"])
        #expect(values["count"] as? Int == 3)
    }

    @Test func renderingConvertedValuesMatchesRenderingTheStruct() throws {
        let templates = try WebTemplates()
        let view = PageView(title: "Fleet", session: nil, page: ["x": "y"], flash: "Saved <b>", section: "jobs")
        let direct = templates.library.render(view, withTemplate: "error")
        let converted = templates.library.render(TemplateValues.convert(view)!, withTemplate: "error")
        #expect(direct == converted)
        #expect(converted?.contains("Saved &lt;b&gt;") == true)
    }
}
