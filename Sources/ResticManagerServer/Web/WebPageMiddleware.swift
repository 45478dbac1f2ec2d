import Foundation
import Hummingbird
import Logging
import ResticManagerCrypto

/// Guards every page route: a signed-out browser is sent to the login page,
/// every unsafe request must carry the form's CSRF token before any handler
/// runs (so no handler can forget), and errors become HTML pages that say
/// what to do instead of JSON.
struct WebPageMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let templates: WebTemplates
    let logger: Logger

    /// Pages a signed-out browser may use.
    static let publicPaths: Set<String> = ["/login"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var request = request
        let path = request.uri.path
        do {
            let isPublic = Self.publicPaths.contains(path)
            if !isPublic, context.principal == nil {
                guard request.method == .get else { throw APIError.unauthenticated }
                return WebResponse.redirect(to: "/login?next=" + LoginPage.encodeNext(request.uri.description))
            }
            if request.method.isUnsafe {
                let form = try await FormFields.collect(&request)
                let expected = isPublic
                    ? request.cookies[LoginPage.csrfCookie]?.value
                    : request.cookies[AuthenticationMiddleware.sessionCookie].map {
                        AuthenticationMiddleware.csrfToken(forSession: $0.value)
                    }
                guard let expected, !expected.isEmpty,
                    Tokens.constantTimeEquals(form["csrf_token"] ?? "", expected)
                else {
                    throw APIError.forbidden(
                        "this form expired or did not come from this site; reload the page and submit it again")
                }
            }
            return try await next(request, context)
        } catch {
            return Self.errorPage(error, request: request, principal: context.principal, templates: templates,
                                  logger: logger)
        }
    }

    /// The HTML answer to a failed page request. Also used for paths that
    /// match no route at all outside the API.
    static func errorPage(_ error: any Error, request: Request, principal: Principal?, templates: WebTemplates,
                          logger: Logger) -> Response {
        let apiError: APIError
        switch error {
        case let error as APIError: apiError = error
        case let error as StoreError: apiError = APIError(error)
        case let error as any HTTPResponseError where error.status == .notFound:
            apiError = APIError(status: .notFound, code: "not_found",
                                message: "there is no page at \(request.uri.path); start again from the fleet overview")
        default:
            logger.error("page failed", metadata: ["path": "\(request.uri.path)", "error": "\(type(of: error))"])
            apiError = APIError(status: .internalServerError, code: "internal",
                                message: "something went wrong on the server; the server log has the details")
        }
        let session = principal.map { WebSession(principal: $0, request: request) }
        let model = ErrorPage(status: Int(apiError.status.code), title: ErrorPage.title(for: apiError.status),
                              message: apiError.message, signedOut: apiError.status == .unauthorized)
        return templates.page("error", PageView(title: model.title, session: session, page: model),
                              status: apiError.status)
    }
}

/// What an error page shows.
struct ErrorPage {
    let status: Int
    let title: String
    let message: String
    let signedOut: Bool

    static func title(for status: HTTPResponse.Status) -> String {
        switch status {
        case .unauthorized: "Please sign in"
        case .forbidden: "Not allowed"
        case .notFound: "Not found"
        case .conflict: "Cannot do that now"
        case .tooManyRequests: "Too many attempts"
        case .badRequest: "That did not work"
        default: "Something went wrong"
        }
    }
}
