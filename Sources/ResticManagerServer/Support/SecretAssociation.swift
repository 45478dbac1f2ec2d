/// The associated data that binds each sealed secret to the row and field it
/// belongs to: a ciphertext copied to another row or field does not decrypt.
enum SecretAssociation {
    static func hostConfig(_ hostID: HostID, _ field: String) -> String { "host_config:\(hostID):\(field)" }
    static func channelSecrets(_ channelID: ChannelID) -> String { "notification_channel:\(channelID):secrets" }
    static func pingURL(_ scheduleID: ScheduleID) -> String { "schedule:\(scheduleID):ping_url" }
}
