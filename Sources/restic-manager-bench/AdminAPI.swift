import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A host enrolled through the HTTP API, with the token its agent connects with.
struct EnrolledAgent: Sendable {
    let hostID: String
    let agentToken: String
    let hostname: String
}

/// The admin side of the setup, through the same HTTP API an operator uses:
/// sign in, mint enrollment tokens, enroll hosts, give each a repository.
struct AdminAPI: Sendable {
    let baseURL: String
    let sessionCookie: String
    let csrfToken: String
    private let session: URLSession

    private init(baseURL: String, sessionCookie: String, csrfToken: String, session: URLSession) {
        self.baseURL = baseURL
        self.sessionCookie = sessionCookie
        self.csrfToken = csrfToken
        self.session = session
    }

    static func signIn(baseURL: String, password: String) async throws -> AdminAPI {
        let configuration = URLSessionConfiguration.ephemeral
        // The session cookie is sent by hand; no cookie store in between.
        configuration.httpShouldSetCookies = false
        configuration.httpCookieStorage = nil
        let session = URLSession(configuration: configuration)
        let (data, response) = try await send(
            session,
            url: baseURL + "/api/v1/auth/login",
            method: "POST",
            body: ["username": "admin", "password": password],
            headers: [:],
            expecting: 200
        )
        let setCookie = response.value(forHTTPHeaderField: "Set-Cookie") ?? ""
        guard let cookie = setCookie.split(separator: ";").first.map(String.init), cookie.hasPrefix("rm_session="),
            let csrf = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let csrfToken = csrf["csrf_token"] as? String
        else { throw BenchError.http("login answered without a session cookie or csrf_token") }
        return AdminAPI(baseURL: baseURL, sessionCookie: cookie, csrfToken: csrfToken, session: session)
    }

    /// Enrolls one host the way `restic-manager-agent enroll` does and sets
    /// its repository, so the server's `config.update` is a real one.
    func enrollHost(named hostname: String) async throws -> EnrolledAgent {
        let created = try await call("POST", "/api/v1/enrollment-tokens", ["note": "bench"], expecting: 201)
        guard let token = created["token"] as? String else { throw BenchError.http("no token in \(created)") }
        let (data, _) = try await Self.send(
            session,
            url: baseURL + "/api/v1/agents/enroll",
            method: "POST",
            body: ["token": token, "hostname": hostname, "os": "linux", "arch": "amd64"],
            headers: [:],
            expecting: 201
        )
        guard let enrolled = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let hostID = enrolled["host_id"] as? String, let agentToken = enrolled["agent_token"] as? String
        else { throw BenchError.http("enroll answered without host_id and agent_token") }
        _ = try await call(
            "PUT",
            "/api/v1/hosts/\(hostID)/config",
            ["repo_url": "/tmp/restic-manager-bench-repo", "repo_password": "bench-\(UUID().uuidString)"],
            expecting: 200
        )
        return EnrolledAgent(hostID: hostID, agentToken: agentToken, hostname: hostname)
    }

    /// A signed-in GET of a page or API path: its status and body, whatever the status.
    func get(_ path: String) async throws -> (status: Int, body: Data) {
        guard let target = URL(string: baseURL + path) else { throw BenchError.http("bad path \(path)") }
        var request = URLRequest(url: target)
        request.setValue(sessionCookie, forHTTPHeaderField: "Cookie")
        let (data, response) = try await session.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    private func call(
        _ method: String,
        _ path: String,
        _ body: [String: String],
        expecting status: Int
    )
        async throws -> [String: Any]
    {
        let (data, _) = try await Self.send(
            session,
            url: baseURL + path,
            method: method,
            body: body,
            headers: ["Cookie": sessionCookie, "X-CSRF-Token": csrfToken],
            expecting: status
        )
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    private static func send(
        _ session: URLSession,
        url: String,
        method: String,
        body: [String: String],
        headers: [String: String],
        expecting status: Int
    ) async throws -> (Data, HTTPURLResponse) {
        guard let target = URL(string: url) else { throw BenchError.http("bad URL \(url)") }
        var request = URLRequest(url: target)
        request.httpMethod = method
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await session.data(for: request)
        guard let http = response as? HTTPURLResponse, http.statusCode == status else {
            let code = (response as? HTTPURLResponse)?.statusCode ?? 0
            throw BenchError.http("\(method) \(url) answered \(code): \(String(decoding: data, as: UTF8.self))")
        }
        return (data, http)
    }
}
