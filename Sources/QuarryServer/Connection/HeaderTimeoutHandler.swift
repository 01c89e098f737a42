import NIOCore

/// Closes a connection whose first request head has not fully arrived within `timeout` of the
/// connection opening: a client that sends its request a byte at a time (or not at all) holds a
/// connection for seconds, not minutes. Later requests on the connection are held to the server's
/// idle timeout, which also counts only whole request heads as activity.
///
/// It sits after the HTTP decoder, so the first thing it reads is the complete head.
final class HeaderTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    typealias InboundOut = NIOAny

    let timeout: TimeAmount
    private var timer: Scheduled<Void>?
    private var received = false

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !received {
            received = true
            timer?.cancel()
            timer = nil
        }
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    private func start(_ context: ChannelHandlerContext) {
        guard timer == nil, !received else { return }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: timeout) {
            loopBound.value.close(promise: nil)
        }
    }
}
