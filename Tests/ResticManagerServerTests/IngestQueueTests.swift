import Testing

@testable import ResticManagerServer

@Suite("IngestQueue")
struct IngestQueueTests {
    @Test("hands over what is pending, in order, at most one batch at a time")
    func batchesInOrder() async {
        let queue = IngestQueue<Int>(capacity: 10)
        for value in 1...5 { await queue.append(value) }
        #expect(await queue.next(upTo: 3) == [1, 2, 3])
        #expect(await queue.next(upTo: 3) == [4, 5])
    }

    @Test("drains what is pending after finish, then ends")
    func drainsThenEnds() async {
        let queue = IngestQueue<Int>(capacity: 10)
        await queue.append(1)
        queue.finish()
        #expect(await queue.next(upTo: 10) == [1])
        #expect(await queue.next(upTo: 10) == nil)
    }

    @Test("drops appends once the batcher has stopped")
    func dropsAfterFinish() async {
        let queue = IngestQueue<Int>(capacity: 10)
        queue.finish()
        await queue.append(1)
        #expect(await queue.next(upTo: 10) == nil)
    }

    @Test("a waiting batcher wakes for the next element")
    func batcherWaits() async {
        let queue = IngestQueue<Int>(capacity: 10)
        async let batch = queue.next(upTo: 10)
        await queue.append(7)
        #expect(await batch == [7])
    }

    @Test("a full queue holds the reader back until the batcher takes a batch")
    func backpressure() async {
        let queue = IngestQueue<Int>(capacity: 2)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for value in 1...6 { await queue.append(value) }
                queue.finish()
            }
            var received: [Int] = []
            while let batch = await queue.next(upTo: 2) {
                #expect(batch.count <= 2)
                received += batch
            }
            #expect(received == Array(1...6))
        }
    }
}
