import Foundation
import Hummingbird
import ResticManagerCore

/// Notification channels, their test sends and deliveries (SPEC §9.2, §9.3). Admins only.
struct NotificationChannelController {
    let services: ServerServices

    struct ChannelRequest: Decodable {
        let name: String
        let kind: String
        let enabled: Bool?
        let events: [String]?
        let config: JSONValue

        static let schema = BodySchema(
            required: ["name": .string, "kind": .choice(ChannelKind.allCases.map(\.rawValue)), "config": .object],
            optional: ["enabled": .boolean, "events": .strings])
    }

    /// The channel JSON; secrets appear only as `…_set`.
    struct ChannelResponse: ResponseEncodable, Sendable {
        struct Config: Encodable, Sendable {
            var url: String?
            var host: String?
            var port: Int?
            var security: SMTPSecurity?
            var username: String?
            var from: String?
            var to: [String]?
            var secretSet: Bool?
            var headersSet: Bool?
            var passwordSet: Bool?
        }

        let id: String
        let name: String
        let kind: ChannelKind
        let enabled: Bool
        let events: [NotificationEvent]
        let config: Config
        let createdAt: Date
        let updatedAt: Date

        init(_ channel: NotificationChannel, secrets: ChannelSecrets) {
            id = channel.id.rawValue
            name = channel.name
            kind = channel.kind
            enabled = channel.enabled
            events = channel.events
            var config = Config()
            switch channel.settings {
            case .webhook(let webhook):
                config.url = webhook.url
                config.secretSet = secrets.secret != nil
                config.headersSet = !(secrets.headers ?? [:]).isEmpty
            case .email(let email):
                config.host = email.host
                config.port = email.port
                config.security = email.security
                config.username = email.username
                config.from = email.from
                config.to = email.to
                config.passwordSet = secrets.password != nil
            }
            self.config = config
            createdAt = channel.createdAt
            updatedAt = channel.updatedAt
        }
    }

    struct DeliveryResponse: Encodable, Sendable {
        let id: String
        let event: NotificationEvent
        @ExplicitNull var alertId: String?
        let status: DeliveryStatus
        let attempts: Int
        @ExplicitNull var lastError: String?
        let createdAt: Date
        @ExplicitNull var nextAttemptAt: Date?
        @ExplicitNull var deliveredAt: Date?

        init(_ record: NotificationRecord) {
            id = record.id.rawValue
            event = record.event
            alertId = record.alertId?.rawValue
            status = record.status
            attempts = record.attempts
            lastError = record.lastError
            createdAt = record.createdAt
            nextAttemptAt = record.nextAttemptAt
            deliveredAt = record.deliveredAt
        }
    }

    struct TestResponse: ResponseEncodable, Sendable {
        let deliveryId: String
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>, catalog: RouteCatalog) {
        group.route(.get, "/notification-channels", catalog: catalog, summary: "Notification channels",
                    access: .admin, query: QueryParameter.page, use: list)
        group.route(.post, "/notification-channels", catalog: catalog, summary: "Create a webhook or email channel",
                    access: .admin, status: .created, body: ChannelRequest.schema, use: create)
        group.route(.get, "/notification-channels/{id}", catalog: catalog, summary: "One channel (secrets write-only)",
                    access: .admin, use: get)
        group.route(.put, "/notification-channels/{id}", catalog: catalog,
                    summary: "Replace a channel; absent secrets are kept, empty ones cleared", access: .admin,
                    body: ChannelRequest.schema, use: replace)
        group.route(.delete, "/notification-channels/{id}", catalog: catalog, summary: "Delete a channel",
                    access: .admin, status: .noContent, use: delete)
        group.route(.post, "/notification-channels/{id}/test", catalog: catalog, summary: "Send a test event now",
                    access: .admin, status: .accepted, use: test)
        group.route(.get, "/notification-channels/{id}/deliveries", catalog: catalog,
                    summary: "Recent deliveries with status, attempts and last error", access: .admin,
                    query: QueryParameter.page, use: deliveries)
    }

    func openSecrets(_ channel: NotificationChannel) throws -> ChannelSecrets {
        guard let sealed = channel.secretsSealed else { return ChannelSecrets() }
        let text = try services.secretBox.open(sealed, associatedData: SecretAssociation.channelSecrets(channel.id))
        return try JSONDecoder().decode(ChannelSecrets.self, from: Data(text.utf8))
    }

    func response(_ channel: NotificationChannel) throws -> ChannelResponse {
        ChannelResponse(channel, secrets: try openSecrets(channel))
    }

    func requireChannel(_ context: AuthenticatedContext) async throws -> NotificationChannel {
        let id = try context.parameters.require("id")
        guard let channel = try await services.database.channel(id: ChannelID(id)) else {
            throw APIError.notFound("notification channel")
        }
        return channel
    }

    @Sendable func list(_ request: Request, context: AuthenticatedContext) async throws -> ListResponse<ChannelResponse> {
        return try ListResponse(try await services.database.channels(page: try PageCursor.page(from: request)),
                                map: response)
    }

    @Sendable func get(_ request: Request, context: AuthenticatedContext) async throws -> ChannelResponse {
        return try response(try await requireChannel(context))
    }

    @Sendable func create(_ request: Request, context: AuthenticatedContext) async throws
        -> EditedResponse<ChannelResponse>
    {
        let body = try await request.decode(as: ChannelRequest.self, context: context)
        return EditedResponse(status: .created, response: try response(try await create(body, context: context)))
    }

    /// Validates and stores a new channel, its secrets sealed to it.
    func create(_ body: ChannelRequest, context: AuthenticatedContext) async throws -> NotificationChannel {
        let id = ChannelID.random()
        let change = try change(body, id: id, stored: ChannelSecrets())
        return try await services.database.createChannel(id: id, change, by: context.auditActor)
    }

    @Sendable func replace(_ request: Request, context: AuthenticatedContext) async throws -> ChannelResponse {
        _ = try await requireChannel(context)
        let body = try await request.decode(as: ChannelRequest.self, context: context)
        return try response(try await replace(body, context: context))
    }

    /// Replaces the request's channel; secrets absent from the body are kept.
    func replace(_ body: ChannelRequest, context: AuthenticatedContext) async throws -> NotificationChannel {
        let channel = try await requireChannel(context)
        let change = try change(body, id: channel.id, stored: try openSecrets(channel))
        return try await services.database.updateChannel(id: channel.id, change, by: context.auditActor)
    }

    private func change(_ body: ChannelRequest, id: ChannelID, stored: ChannelSecrets) throws -> ChannelChange {
        let name = try Validate.name(body.name, field: "name", maxLength: 100)
        guard let kind = ChannelKind(rawValue: body.kind) else {
            throw APIError.validation("kind", "must be webhook or email")
        }
        let (settings, fields) = try ChannelValidation.settings(kind: kind, config: body.config)
        var secrets = stored
        func apply(_ value: String?, to field: inout String?) {
            guard let value else { return }
            field = value.isEmpty ? nil : value
        }
        switch kind {
        case .webhook:
            secrets.password = nil
            apply(fields.secret, to: &secrets.secret)
            if let headers = fields.headers { secrets.headers = headers.isEmpty ? nil : headers }
        case .email:
            secrets.secret = nil
            secrets.headers = nil
            apply(fields.password, to: &secrets.password)
        }
        let sealed: [UInt8]?
        if secrets.isEmpty {
            sealed = nil
        } else {
            let text = String(decoding: try JSONEncoder.sortedKeys.encode(secrets), as: UTF8.self)
            sealed = try services.secretBox.seal(text, associatedData: SecretAssociation.channelSecrets(id))
        }
        return ChannelChange(name: name, enabled: body.enabled ?? true, events: try ChannelValidation.events(body.events),
                             settings: settings, secretsSealed: .some(sealed))
    }

    @Sendable func delete(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try await delete(context: context)
        return Response(status: .noContent)
    }

    func delete(context: AuthenticatedContext) async throws {
        let channel = try await requireChannel(context)
        try await services.database.deleteChannel(id: channel.id, by: context.auditActor)
    }

    @Sendable func test(_ request: Request, context: AuthenticatedContext) async throws -> EditedResponse<TestResponse> {
        EditedResponse(status: .accepted, response: TestResponse(deliveryId: try await test(context: context).rawValue))
    }

    /// Queues a `test` event for the request's channel and wakes the sender.
    func test(context: AuthenticatedContext) async throws -> DeliveryID {
        let channel = try await requireChannel(context)
        let id = try await services.database.enqueueTest(channelID: channel.id, by: context.auditActor)
        services.delivery.poke()
        return id
    }

    @Sendable func deliveries(_ request: Request, context: AuthenticatedContext) async throws
        -> ListResponse<DeliveryResponse>
    {
        let channel = try await requireChannel(context)
        return ListResponse(
            try await services.database.deliveries(channelID: channel.id, page: try PageCursor.page(from: request)),
            map: DeliveryResponse.init)
    }
}
