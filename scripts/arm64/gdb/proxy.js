// scripts/arm64/gdb/proxy.js - inside the guest: forward 0.0.0.0:LISTEN to 127.0.0.1:TARGET,
// so the kvm-debug GDB server keeps its default loopback bind and the host's gdb-multiarch
// reaches it through qemu's hostfwd. Usage: node proxy.js LISTEN TARGET
'use strict';
const net = require('net');
const [listen, target] = process.argv.slice(2).map(Number);
net
  .createServer((client) => {
    const up = net.connect(target, '127.0.0.1');
    // Small request/reply packets: Nagle would hold each behind the peer's delayed ACK
    // (tens of ms per gdb round trip); the server's own socket does the same (ts/src/gdb/tcp.ts).
    client.setNoDelay(true);
    up.setNoDelay(true);
    // pipe() ends each side when the other ends, after flushing what is buffered (a
    // server's last reply, e.g. the OK to gdb's detach, must not be dropped); errors
    // tear both down.
    client.pipe(up).pipe(client);
    const kill = () => {
      client.destroy();
      up.destroy();
    };
    client.on('error', kill);
    up.on('error', kill);
  })
  .listen(listen, '0.0.0.0', () => console.log(`GDB-PROXY: 0.0.0.0:${listen} -> 127.0.0.1:${target}`));
