import ResticManagerAgent

@main
struct AgentCommand {
    static func main() {
        print("restic-manager-agent \(agentVersion)")
    }
}
