import QuarryKernels

/// A node met by a search and its distance to the query (or to the node being linked).
struct Candidate {
    var distance: Float
    var id: UInt32
}

/// Candidates to expand: the nearest on top.
enum NearestFirst: HeapOrder {
    @inline(__always)
    static func ranksAbove(_ a: Candidate, _ b: Candidate) -> Bool { a.distance < b.distance }
}

/// The best results so far: the farthest on top, so that it is the one compared and dropped.
enum FarthestFirst: HeapOrder {
    @inline(__always)
    static func ranksAbove(_ a: Candidate, _ b: Candidate) -> Bool { a.distance > b.distance }
}
