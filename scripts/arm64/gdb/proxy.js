// scripts/arm64/gdb/proxy.js - inside the guest: forward 0.0.0.0:LISTEN to 127.0.0.1:TARGET,
// so the kvm-debug GDB server keeps its default loopback bind and the host's gdb-multiarch
// reaches it through qemu's hostfwd. Usage: node proxy.js LISTEN TARGET
'use strict';
const net = require('net');
const [listen, target] = process.argv.slice(2).map(Number);
net
  .createServer((client) => {
    const up = net.connect(target, '127.0.0.1');
    client.pipe(up).pipe(client);
    const close = () => {
      client.destroy();
      up.destroy();
    };
    client.on('error', close).on('close', close);
    up.on('error', close).on('close', close);
  })
  .listen(listen, '0.0.0.0', () => console.log(`GDB-PROXY: 0.0.0.0:${listen} -> 127.0.0.1:${target}`));
