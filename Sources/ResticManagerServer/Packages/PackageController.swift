import Foundation
import Hummingbird
import NIOCore

/// The agent installer and the packages it downloads (SPEC §13). Both are
/// public: a host about to enroll has no credential yet, and nothing here
/// is secret (the token stays on the host's command line).
struct PackageController {
    let services: ServerServices
    let fileIO = FileIO(threadPool: .singleton)

    /// Where package files are served; `agent.update_available` links here too.
    static let packagesPath = "/packages"

    func addPublicRoutes(to router: some RouterMethods<AppRequestContext>, catalog: RouteCatalog) {
        router.route(.get, "/install.sh", catalog: catalog, prefix: "",
                     summary: "Agent installer (POSIX sh) carrying the SHA-256 of each agent package",
                     access: .anyone, use: installScript)
        router.route(.get, Self.packagesPath + "/{file}", catalog: catalog, prefix: "",
                     summary: "An agent package from --packages-dir", access: .anyone, use: package)
    }

    @Sendable func installScript(_ request: Request, context: AppRequestContext) async throws -> Response {
        let script = InstallScript.render(
            serverURL: services.settings.publicBaseURL(for: request), catalog: services.packages)
        var headers = HTTPFields()
        headers[.contentType] = "text/x-shellscript; charset=utf-8"
        // The checksums change with every package upgrade.
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: script)))
    }

    @Sendable func package(_ request: Request, context: AppRequestContext) async throws -> Response {
        let name = try context.parameters.require("file")
        // Only names the catalog read at start: never a path from the URL.
        guard let package = services.packages.package(named: name) else {
            throw APIError(status: .notFound, code: "not_found", message: "no agent package named \(name.prefix(128))")
        }
        let body = try await fileIO.loadFile(path: services.packages.directory + "/" + package.fileName, context: context)
        var headers = HTTPFields()
        headers[.contentType] = "application/vnd.debian.binary-package"
        headers[.contentDisposition] = "attachment; filename=\"\(package.fileName)\""
        return Response(status: .ok, headers: headers, body: body)
    }

    /// The URL of a package file, for `agent.update_available`.
    static func url(of package: AgentPackage, baseURL: String) -> String {
        baseURL + packagesPath + "/" + package.fileName
    }
}
