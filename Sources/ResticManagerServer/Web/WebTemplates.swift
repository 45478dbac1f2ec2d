import Foundation
import Hummingbird
import Mustache

/// The page templates, compiled into the binary (`embedInCode` in
/// Package.swift) and parsed once at start-up, so a broken template stops
/// the server before it serves anything instead of failing one page later.
struct WebTemplates: Sendable {
    /// Every template by the name pages render it with. `layout` is the
    /// parent the pages extend (`{{<layout}}`).
    static let sources: [(name: String, bytes: [UInt8])] = [
        ("layout", PackageResources.layout_mustache),
        ("login", PackageResources.login_mustache),
        ("error", PackageResources.error_mustache),
        ("dashboard", PackageResources.dashboard_mustache),
        ("host", PackageResources.host_mustache),
        ("snapshot", PackageResources.snapshot_mustache),
        ("schedule", PackageResources.schedule_mustache),
        ("jobs", PackageResources.jobs_mustache),
        ("job", PackageResources.job_mustache),
        ("enrollment", PackageResources.enrollment_mustache),
        ("users", PackageResources.users_mustache),
        ("tokens", PackageResources.tokens_mustache),
        ("audit", PackageResources.audit_mustache),
        ("alerts", PackageResources.alerts_mustache),
        ("alert-rules", PackageResources.alert_rules_mustache),
        ("channels", PackageResources.channels_mustache),
        ("channel", PackageResources.channel_mustache),
        ("alert_table", PackageResources.alert_table_mustache),
        ("channel_form", PackageResources.channel_form_mustache),
    ]

    /// Templates that pages include (`{{>name}}`) rather than render alone.
    static let partials: Set<String> = ["alert_table", "channel_form"]

    let library: MustacheLibrary

    init() throws {
        var library = MustacheLibrary()
        for source in Self.sources {
            do {
                try library.register(String(decoding: source.bytes, as: UTF8.self), named: source.name)
            } catch {
                throw WebTemplateError(name: source.name, reason: "\(error)")
            }
        }
        self.library = library
    }

    /// Renders `model` with the named template into an HTML response.
    func page(_ name: String, _ model: Any, status: HTTPResponse.Status = .ok) -> Response {
        let values = TemplateValues.convert(model) ?? [String: Any]()
        let html = library.render(values, withTemplate: name) ?? "template \(name) is missing"
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        WebSecurityHeaders.apply(to: &headers)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}

/// A template that does not parse; names it so the fix is obvious.
struct WebTemplateError: Error, CustomStringConvertible {
    let name: String
    let reason: String
    var description: String { "web template \(name).mustache does not parse: \(reason)" }
}

/// Headers every page and asset carries. The policy allows only this
/// server's own stylesheet and script, so injected markup could run nothing.
enum WebSecurityHeaders {
    static func apply(to headers: inout HTTPFields) {
        headers[.contentSecurityPolicy] =
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            + "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
        headers[.xContentTypeOptions] = "nosniff"
        headers[.init("Referrer-Policy")!] = "same-origin"
        headers[.init("X-Frame-Options")!] = "DENY"
    }
}

/// The stylesheet and script, served with a validator so browsers cache them.
struct WebAssets {
    struct Asset {
        let bytes: [UInt8]
        let contentType: String
        let etag: String
    }

    static let assets: [String: Asset] = [
        "app.css": asset(PackageResources.app_css, type: "text/css; charset=utf-8"),
        "app.js": asset(PackageResources.app_js, type: "text/javascript; charset=utf-8"),
    ]

    private static func asset(_ bytes: [UInt8], type: String) -> Asset {
        // FNV-1a: a cheap content hash, only used to tell versions apart.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Asset(bytes: bytes, contentType: type, etag: "\"\(String(hash, radix: 16))\"")
    }

    func addRoutes(to router: some RouterMethods<AppRequestContext>) {
        router.get("/assets/{name}") { request, context -> Response in
            let name = try context.parameters.require("name")
            guard let asset = Self.assets[name] else {
                throw APIError(status: .notFound, code: "not_found", message: "no asset \(name)")
            }
            var headers = HTTPFields()
            headers[.contentType] = asset.contentType
            headers[.eTag] = asset.etag
            headers[.cacheControl] = "no-cache"
            WebSecurityHeaders.apply(to: &headers)
            if request.headers[.ifNoneMatch] == asset.etag {
                return Response(status: .notModified, headers: headers)
            }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: asset.bytes)))
        }
    }
}
