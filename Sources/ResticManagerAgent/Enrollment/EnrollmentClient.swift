import Foundation


/// Why enrollment failed, in words an operator can act on.
public enum EnrollmentError: Error, Sendable, CustomStringConvertible {
    case unreachable(server: String, reason: String)
    case tokenRejected(String)
    case refused(status: Int, message: String)
    case badResponse(String)

    public var description: String {
        switch self {
        case .unreachable(let server, let reason): "cannot reach \(server): \(reason)"
        case .tokenRejected(let message): "enrollment token rejected: \(message)"
        case .refused(let status, let message): "server refused enrollment (HTTP \(status)): \(message)"
        case .badResponse(let why): "unexpected enrollment response: \(why)"
        }
    }
}

/// `POST /api/v1/agents/enroll` (SPEC §4.1).
public enum EnrollmentClient {
    public struct Enrolled: Sendable, Equatable {
        public var hostID: String
        public var agentToken: String
    }

    public static func enroll(
        endpoint: ServerEndpoint, token: String, facts: HostFacts, name: String?, caFile: String? = nil
    ) async throws(EnrollmentError) -> Enrolled {
        var body: [String: String] = ["token": token, "hostname": facts.hostname, "os": facts.os, "arch": facts.arch]
        if let name, !name.isEmpty { body["name"] = name }
        let response: ServerHTTPResponse
        do {
            let json = try JSONSerialization.data(withJSONObject: body)
            response = try await ServerHTTPClient(endpoint: endpoint, caFile: caFile)
                .request(.POST, "/agents/enroll", json: json)
        } catch {
            throw .unreachable(server: endpoint.baseURL, reason: "\(error)")
        }
        let data = response.body
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        guard response.status == 201 || response.status == 200 else {
            let message = ((object?["error"] as? [String: Any])?["message"] as? String)
                ?? String(decoding: data.prefix(200), as: UTF8.self)
            if response.status == 401 { throw .tokenRejected(message) }
            throw .refused(status: response.status, message: message)
        }
        guard let hostID = object?["host_id"] as? String, let agentToken = object?["agent_token"] as? String,
            !hostID.isEmpty, !agentToken.isEmpty
        else { throw .badResponse("missing host_id or agent_token") }
        return Enrolled(hostID: hostID, agentToken: agentToken)
    }
}
