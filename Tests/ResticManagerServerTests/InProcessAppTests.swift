import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import HummingbirdWSTesting
import Logging
import NIOCore
import ResticManagerCrypto
import ResticManagerProtocol
import Testing

@testable import ResticManagerServer

/// The whole application booted in-process on an in-memory store, beside
/// the end-to-end tests that run the binary.
struct InProcessApp {
    let database: AppDatabase
    /// A bearer API token per role.
    let tokens: [Role: String]

    static func make() async throws -> (InProcessApp, some ApplicationProtocol) {
        let database = try await AppDatabase.forTest()
        var tokens: [Role: String] = [:]
        for role in Role.allCases {
            let user = try await database.createUser(username: "u-\(role.rawValue)", passwordHash: "unused", role: role,
                                                     by: .system)
            let token = Tokens.issue(.api)
            _ = try await database.createAPIToken(userID: user.id, name: "test", tokenHash: token.hash, expiresAt: nil,
                                                  by: .system)
            tokens[role] = token.plaintext
        }
        var settings = ServerSettings(baseURL: nil)
        settings.alertInterval = .seconds(1)
        let options = ServeOptions(store: StoreLocation(dataDirectory: ""), host: "127.0.0.1", port: 0, tlsCertificatePath: nil,
                                   tlsKeyPath: nil, settings: settings)
        let key = try SecretKey(bytes: Array(repeating: 9, count: SecretKey.byteCount))
        let app = try await buildApplication(options, database: database, key: key, logger: Logger(label: "test"),
                                             onFirstAdminPassword: { _ in })
        return (InProcessApp(database: database, tokens: tokens), app)
    }

    func headers(_ role: Role?) -> HTTPFields {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let role, let token = tokens[role] { headers[.authorization] = "Bearer \(token)" }
        return headers
    }

    /// A host enrolled straight in the store, with its agent token.
    func enrollHost() async throws -> (HostID, String) {
        let enrollment = Tokens.issue(.enrollment)
        _ = try await database.createEnrollmentToken(
            tokenHash: enrollment.hash, note: "", expiresAt: Date().addingTimeInterval(60), replaceHostID: nil, by: .system)
        let agent = Tokens.issue(.agent)
        let host = try #require(try await database.enroll(
            enrollmentTokenHash: enrollment.hash, hostname: "in-process", os: "linux", arch: "amd64", name: nil,
            agentTokenHash: agent.hash, ip: ""))
        return (host.id, agent.plaintext)
    }
}

@Suite struct InProcessAppTests {
    /// Every route the OpenAPI document lists refuses the roles below its
    /// `x-access` with 403 and anonymous callers with 401: the document and
    /// the behaviour cannot drift apart unnoticed.
    @Test func everyDocumentedRouteRefusesRolesBelowItsAccess() async throws {
        let (fixture, app) = try await InProcessApp.make()
        try await app.test(.router) { client in
            let document = try await client.execute(uri: "/api/v1/openapi.json", method: .get) { response in
                try #require(JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
            }
            let paths = try #require(document["paths"] as? [String: [String: [String: Any]]])
            var checked = 0
            for (path, operations) in paths.sorted(by: { $0.key < $1.key }) {
                let uri = path.replacingOccurrences(of: #"\{[a-z_]+\}"#, with: "00000000-0000-4000-8000-000000000000",
                                                    options: .regularExpression)
                for (methodName, operation) in operations {
                    let method = HTTPRequest.Method(methodName.uppercased())!
                    let access = operation["x-access"] as? String ?? ""
                    let below: [Role] = switch access {
                    case "admin": [.viewer, .operator]
                    case "operator": [.viewer]
                    default: []
                    }
                    for role in below {
                        let status = try await client.execute(uri: uri, method: method, headers: fixture.headers(role),
                                                              body: ByteBuffer(string: "{}")) { $0.status }
                        #expect(status == .forbidden, "\(methodName) \(path) as \(role.rawValue) answered \(status)")
                        checked += 1
                    }
                    if ["user", "viewer", "operator", "admin"].contains(access), path != "/metrics" {
                        let status = try await client.execute(uri: uri, method: method, headers: fixture.headers(nil),
                                                              body: ByteBuffer(string: "{}")) { $0.status }
                        #expect(status == .unauthorized, "\(methodName) \(path) anonymously answered \(status)")
                    }
                }
            }
            #expect(checked > 30, "the document lists the role-restricted routes")
        }
    }

    /// hello → config.update, schedule.set; events acked after commit; a
    /// replay of the same ids is acked again and changes nothing.
    @Test func agentHelloAckAndReplay() async throws {
        let (fixture, app) = try await InProcessApp.make()
        let (hostID, agentToken) = try await fixture.enrollHost()
        let job = try await fixture.database.createJob(
            hostID: hostID, scheduleID: nil, kind: .backup, trigger: .manual, args: ["/etc"], expiresAfter: .seconds(60),
            by: .system)
        let hello = EnvelopeCodec.encode(Envelope(message: .hello(HelloPayload(
            agentVersion: "test", resticVersion: "0.14.0", hostname: "in-process", os: "linux", arch: "amd64",
            timezone: "UTC"))))
        let events = [
            Envelope(id: "m-started", message: .jobStarted(JobStartedPayload(jobID: job.id.rawValue, kind: .backup,
                                                                             startedAt: Date()))),
            Envelope(id: "m-log", message: .logStream(LogStreamLine(jobID: job.id.rawValue, seq: 1, ts: Date(),
                                                                    stream: .stdout, payload: "one line"))),
        ]
        try await app.test(.live) { client in
            for round in 1...2 {
                var configuration = WebSocketClientConfiguration()
                configuration.additionalHeaders[.authorization] = "Bearer \(agentToken)"
                try await client.ws("/api/v1/agent/ws", configuration: configuration) { inbound, outbound, _ in
                    try await outbound.write(.text(hello))
                    var types: [MessageType] = []
                    var acked: Set<String> = []
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        guard case .text(let text) = message else { continue }
                        let envelope = try EnvelopeCodec.decode(text)
                        types.append(envelope.message.type)
                        if case .scheduleSet = envelope.message {
                            for event in events { try await outbound.write(.text(EnvelopeCodec.encode(event))) }
                        }
                        if case .ack(let ack) = envelope.message { acked.formUnion(ack.ids) }
                        if acked.isSuperset(of: events.map(\.id)) { break }
                    }
                    #expect(Array(types.prefix(2)) == [.configUpdate, .scheduleSet], "round \(round)")
                    #expect(acked.isSuperset(of: ["m-started", "m-log"]), "round \(round)")
                    try await outbound.close(.normalClosure, reason: nil)
                }
            }
        }
        #expect(try await fixture.database.jobLogs(jobID: job.id, afterSeq: 0, limit: 10).map(\.payload) == ["one line"])
        #expect(try await fixture.database.job(id: job.id)?.status == .running)
    }

    /// The live log of a finished job: its lines with their seq as event id,
    /// then `end`, then the stream closes.
    @Test func sseStreamSendsTheLogThenEnd() async throws {
        let (fixture, app) = try await InProcessApp.make()
        let (hostID, _) = try await fixture.enrollHost()
        let job = try await fixture.database.createJob(
            hostID: hostID, scheduleID: nil, kind: .backup, trigger: .manual, args: ["/etc"], expiresAfter: .seconds(60),
            by: .system)
        _ = try await fixture.database.ingest(hostID: hostID, envelopes: [
            Envelope(message: .jobStarted(JobStartedPayload(jobID: job.id.rawValue, kind: .backup, startedAt: Date()))),
            Envelope(message: .logStream(LogStreamLine(jobID: job.id.rawValue, seq: 1, ts: Date(), stream: .stdout,
                                                       payload: "first"))),
            Envelope(message: .logStream(LogStreamLine(jobID: job.id.rawValue, seq: 2, ts: Date(), stream: .stderr,
                                                       payload: "second"))),
            Envelope(message: .jobFinished(JobFinishedPayload(jobID: job.id.rawValue, status: .succeeded, exitCode: 0,
                                                              finishedAt: Date()))),
        ])
        try await app.test(.live) { client in
            try await client.execute(uri: "/api/v1/jobs/\(job.id)/logs/stream", method: .get,
                                     headers: fixture.headers(.viewer)) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/event-stream") == true)
                let text = String(buffer: response.body)
                let log = try #require(text.range(of: "id: 1\n"))
                let second = try #require(text.range(of: "id: 2\n"))
                let end = try #require(text.range(of: "event: end"))
                #expect(log.lowerBound < second.lowerBound && second.lowerBound < end.lowerBound)
                #expect(text.contains("first") && text.contains("second"))
            }
        }
    }
}
