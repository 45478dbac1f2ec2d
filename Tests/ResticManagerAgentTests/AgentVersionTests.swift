import ResticManagerAgent
import Testing

@Suite struct AgentVersionTests {
    @Test func versionIsSemantic() {
        #expect(agentVersion.split(separator: ".").count == 3)
    }
}
