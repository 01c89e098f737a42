/// The order of a `Heap`: which of two elements belongs nearer the top.
///
/// A type of its own rather than a stored closure, so that a heap's comparisons are resolved at
/// compile time and inlined into the search loops that push and pop millions of times a second.
public protocol HeapOrder {
    /// What the heap holds.
    associatedtype Element

    /// Whether `a` belongs nearer the top of the heap than `b`; a strict weak order (never
    /// true for two elements that rank equal).
    static func ranksAbove(_ a: Element, _ b: Element) -> Bool
}

/// A binary heap whose top is the element `Order` ranks first, for candidate queues and top-k
/// selection alike.
///
/// As a bounded top-k, the heap keeps the worst kept element on top (the order ranks worse
/// elements above better ones), so that a new element is compared with the top alone:
/// `insert(_:keepingBest:)`, then `removeAllTopLast()` for the kept elements best first.
///
/// Pushes and pops move a hole rather than swapping, and reach the storage without bounds or
/// uniqueness checks beyond the one per call: the heap owns its storage alone.
public struct Heap<Order: HeapOrder> {
    /// What the heap holds.
    public typealias Element = Order.Element

    @usableFromInline var storage: [Element] = []

    /// Creates an empty heap with room for `minimumCapacity` elements before it grows.
    @inlinable
    public init(minimumCapacity: Int = 0) {
        storage.reserveCapacity(minimumCapacity)
    }

    /// Number of elements.
    @inlinable
    public var count: Int { storage.count }

    /// Whether the heap holds nothing.
    @inlinable
    public var isEmpty: Bool { storage.isEmpty }

    /// The element `Order` ranks first, without removing it; `nil` when empty.
    @inlinable
    public var top: Element? { storage.first }

    /// Adds `element`.
    @inlinable
    public mutating func push(_ element: Element) {
        storage.append(element)
        storage.withUnsafeMutableBufferPointer { h in
            var child = h.count - 1
            while child > 0 {
                let parent = (child - 1) >> 1
                guard Order.ranksAbove(element, h[parent]) else { break }
                h[child] = h[parent]
                child = parent
            }
            h[child] = element
        }
    }

    /// Removes the top element.
    /// - Returns: the element removed; `nil` when the heap was empty.
    @inlinable @discardableResult
    public mutating func popTop() -> Element? {
        guard let top = storage.first else { return nil }
        let last = storage.removeLast()
        if !storage.isEmpty {
            storage.withUnsafeMutableBufferPointer { h in
                var parent = 0
                let n = h.count
                while true {
                    var child = 2 * parent + 1
                    guard child < n else { break }
                    if child + 1 < n, Order.ranksAbove(h[child + 1], h[child]) { child += 1 }
                    guard Order.ranksAbove(h[child], last) else { break }
                    h[parent] = h[child]
                    parent = child
                }
                h[parent] = last
            }
        }
        return top
    }

    /// Offers `element` to a heap that keeps the best `limit` elements with the worst of them on
    /// top: it is pushed while the heap holds fewer than `limit`, and otherwise takes the top's
    /// place when the top ranks above it. An element that ranks equal to the top is dropped.
    @inlinable
    public mutating func insert(_ element: Element, keepingBest limit: Int) {
        if storage.count < limit {
            push(element)
        } else if let top = storage.first, Order.ranksAbove(top, element) {
            popTop()
            push(element)
        }
    }

    /// Empties the heap into an array that ends with the top: popped one by one, each into the
    /// last free slot. For a heap that keeps the worst on top, the best comes first.
    @inlinable
    public mutating func removeAllTopLast() -> [Element] {
        let n = storage.count
        return [Element](unsafeUninitializedCapacity: n) { out, initialized in
            var slot = n - 1
            while let top = popTop() {
                out.initializeElement(at: slot, to: top)
                slot -= 1
            }
            initialized = n
        }
    }
}

extension Heap: Sendable where Order.Element: Sendable {}
