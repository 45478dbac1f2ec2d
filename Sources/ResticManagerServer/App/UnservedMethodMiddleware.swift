import HTTPTypes
import Hummingbird

/// TRACE is served on no path: answer 405 (RFC 9110 §15.5.6) instead of the
/// 404 an unknown route gets, so scanners see the method is refused, not the
/// resource missing. TRACE would echo request headers — cookies included —
/// back to a script (cross-site tracing).
struct UnservedMethodMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard request.method == .trace else { return try await next(request, context) }
        var error = APIError(status: .methodNotAllowed, code: "method_not_allowed",
                             message: "\(request.method) is not served here; use GET, POST, PUT, PATCH or DELETE")
        error.headers[.allow] = "GET, HEAD, POST, PUT, PATCH, DELETE"
        throw error
    }
}
