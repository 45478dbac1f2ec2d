import Foundation
import Hummingbird

/// Notification channels (admins only): the list with the create forms, one
/// channel's edit page with its test button and recent deliveries. Every
/// change goes through `NotificationChannelController`, as the API's do.
struct ChannelsPage {
    let services: ServerServices
    let responder: WebResponder

    struct Row {
        let id: String
        let name: String
        let kind: String
        let enabled: Bool
        let events: String
        let destination: String
    }

    struct DeliveryRow {
        let id: String
        let event: String
        let status: String
        let attempts: Int
        let lastError: String?
        let createdAt: String
        let createdAgo: String
        let deliveredAt: String?
        let deliveredAgo: String?
        let nextAttempt: String?
    }

    struct ListModel {
        let rows: [Row]
        let hasRows: Bool
        let nextPage: String?
        let webhookForm: ChannelForm.View
        let emailForm: ChannelForm.View
        /// The form to open first: the refused one, else the webhook form.
        let emailFirst: Bool
    }

    struct EditModel {
        let id: String
        let name: String
        let kind: String
        let form: ChannelForm.View
        let deliveries: [DeliveryRow]
        let hasDeliveries: Bool
        let nextPage: String?
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.on("/alerts/channels", method: .get, access: .admin, use: list)
        group.on("/alerts/channels", method: .post, access: .admin, use: create)
        group.on("/alerts/channels/{id}", method: .get, access: .admin, use: edit)
        group.on("/alerts/channels/{id}", method: .post, access: .admin, use: save)
        group.on("/alerts/channels/{id}/delete", method: .post, access: .admin, use: delete)
        group.on("/alerts/channels/{id}/test", method: .post, access: .admin, use: test)
    }

    private var controller: NotificationChannelController { NotificationChannelController(services: services) }

    @Sendable func list(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try await renderList(request, context: context, refused: nil)
    }

    @Sendable func create(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let form = try await FormFields.of(request)
        let kind = ChannelKind(rawValue: form.text("kind")) ?? .webhook
        do {
            guard ChannelKind(rawValue: form.text("kind")) != nil else {
                throw APIError.validation("kind", "must be webhook or email")
            }
            let channel = try await controller.create(try ChannelForm.request(from: form, kind: kind), context: context)
            return WebResponse.redirect(to: "/alerts/channels/\(channel.id)",
                                        flash: "Channel \(channel.name) created. Send a test to check that it arrives.")
        } catch {
            guard let refusal = FormFields.refusalShownOnTheForm(error) else { throw error }
            return try await renderList(request, context: context, refused: (kind, form, refusal))
        }
    }

    private func renderList(_ request: Request, context: AuthenticatedContext,
                            refused: (kind: ChannelKind, form: FormFields, error: APIError)?) async throws -> Response
    {
        let page = try await services.database.channels(page: try PageCursor.page(from: request))
        let rows = page.items.map { channel in
            let destination = switch channel.settings {
            case .webhook(let webhook): webhook.url
            case .email(let email): email.to.joined(separator: ", ")
            }
            return Row(id: channel.id.rawValue, name: channel.name, kind: channel.kind.rawValue,
                       enabled: channel.enabled, events: channel.events.map(\.rawValue).joined(separator: ", "),
                       destination: destination)
        }
        func view(_ kind: ChannelKind) -> ChannelForm.View {
            guard let refused, refused.kind == kind else {
                return ChannelForm.View(kind: kind, action: "/alerts/channels", isNew: true, fields: ChannelForm.Fields())
            }
            return ChannelForm.View(kind: kind, action: "/alerts/channels", isNew: true,
                                    fields: ChannelForm.fields(of: refused.form), error: refused.error,
                                    typedSecrets: ChannelForm.typedSecrets(refused.form, kind: kind))
        }
        let model = ListModel(
            rows: rows, hasRows: !rows.isEmpty,
            nextPage: PageLink.next("/alerts/channels", cursor: page.nextCursor, request: request),
            webhookForm: view(.webhook), emailForm: view(.email), emailFirst: refused?.kind == .email)
        return try await responder.page("channels", title: "Notification channels", section: "alerts", page: model,
                                        request: request, context: context, status: refused?.error.status ?? .ok)
    }

    @Sendable func edit(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let channel = try await controller.requireChannel(context)
        return try await renderEdit(request, context: context, channel: channel, fields: ChannelForm.fields(of: channel),
                                    error: nil, typedSecrets: [])
    }

    @Sendable func save(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let channel = try await controller.requireChannel(context)
        let form = try await FormFields.of(request)
        do {
            let saved = try await controller.replace(try ChannelForm.request(from: form, kind: channel.kind),
                                                     context: context)
            return WebResponse.redirect(to: "/alerts/channels/\(saved.id)", flash: "Channel \(saved.name) saved.")
        } catch {
            guard let refusal = FormFields.refusalShownOnTheForm(error) else { throw error }
            return try await renderEdit(request, context: context, channel: channel, fields: ChannelForm.fields(of: form),
                                        error: refusal, typedSecrets: ChannelForm.typedSecrets(form, kind: channel.kind))
        }
    }

    private func renderEdit(_ request: Request, context: AuthenticatedContext, channel: NotificationChannel,
                            fields: ChannelForm.Fields, error: APIError?, typedSecrets: [String]) async throws -> Response
    {
        let page = try await services.database.deliveries(channelID: channel.id, page: try PageCursor.page(from: request))
        let now = Date()
        let deliveries = page.items.map { record in
            DeliveryRow(
                id: record.id.rawValue, event: record.event.rawValue, status: record.status.rawValue,
                attempts: record.attempts, lastError: record.lastError, createdAt: WebFormat.machine(record.createdAt),
                createdAgo: WebFormat.relative(record.createdAt, now: now),
                deliveredAt: record.deliveredAt.map(WebFormat.machine),
                deliveredAgo: record.deliveredAt.map { WebFormat.relative($0, now: now) },
                nextAttempt: record.status == .pending ? record.nextAttemptAt.map { WebFormat.relative($0, now: now) } : nil)
        }
        let form = ChannelForm.View(
            kind: channel.kind, action: "/alerts/channels/\(channel.id)", isNew: false, fields: fields,
            secrets: try controller.response(channel).config, error: error, typedSecrets: typedSecrets)
        let model = EditModel(
            id: channel.id.rawValue, name: channel.name, kind: channel.kind.rawValue, form: form,
            deliveries: deliveries, hasDeliveries: !deliveries.isEmpty,
            nextPage: PageLink.next("/alerts/channels/\(channel.id)", cursor: page.nextCursor, request: request))
        return try await responder.page("channel", title: channel.name, section: "alerts", page: model, request: request,
                                        context: context, status: error?.status ?? .ok)
    }

    @Sendable func delete(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try await controller.delete(context: context)
        return WebResponse.redirect(to: "/alerts/channels", flash: "Channel deleted, and its deliveries with it.")
    }

    @Sendable func test(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        _ = try await controller.test(context: context)
        let id = try context.parameters.require("id")
        return WebResponse.redirect(to: "/alerts/channels/\(id)#deliveries",
                                    flash: "Test queued; it appears under Recent deliveries once sent.")
    }
}
