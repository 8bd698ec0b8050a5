#!/usr/bin/python3
"""A pymodbus slave (RTU over a serial port or a pty, or Modbus TCP) with a register bank that the
parent process drives over stdin, one JSON command a line:

  {"op": "set", "unit": 1, "table": "hr", "addr": 0, "values": [1, 2]}   tables: hr ir co di
  {"op": "silent", "unit": 2, "on": true}    the unit stops answering (as if unplugged from the bus)
  {"op": "corrupt", "count": 3}              the next 3 responses go out with a broken CRC

It prints "READY" once serving. It exits when stdin closes, so it never outlives its parent.
Written for Debian's python3-pymodbus 3.0 (run it with /usr/bin/python3); the barn values
themselves come from the parent (drivers/modbus-sim/simulator.ts), which keeps this file dumb.
"""
import argparse
import asyncio
import json
import sys
import threading

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.framer.rtu_framer import ModbusRtuFramer
from pymodbus.framer.socket_framer import ModbusSocketFramer
from pymodbus.server import StartAsyncSerialServer, StartAsyncTcpServer

SIZE = 200  # registers per table; reading past it gives exception 02 (illegal data address)


def make_unit():
    block = lambda: ModbusSequentialDataBlock(0, [0] * SIZE)  # noqa: E731
    return ModbusSlaveContext(di=block(), co=block(), hr=block(), ir=block(), zero_mode=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--serial")
    ap.add_argument("--tcp", type=int)
    ap.add_argument("--baud", type=int, default=9600)
    ap.add_argument("--units", default="1")
    args = ap.parse_args()

    units = {int(u): make_unit() for u in args.units.split(",")}
    context = ModbusServerContext(slaves=dict(units), single=False)
    state = {"corrupt": 0}
    framer_cls = ModbusRtuFramer if args.serial else ModbusSocketFramer

    def manipulate(response):
        if state["corrupt"] <= 0:
            return response, False
        state["corrupt"] -= 1
        packet = bytearray(framer_cls(None).buildPacket(response))
        packet[-1] ^= 0x5A  # a flipped CRC byte: the master must see a CRC error
        return bytes(packet), True

    def fn_table(table):
        return {"hr": 3, "ir": 4, "co": 1, "di": 2}[table]

    def commands():
        for line in sys.stdin:
            try:
                cmd = json.loads(line)
                op = cmd["op"]
                if op == "set":
                    units[cmd["unit"]].setValues(fn_table(cmd["table"]), cmd["addr"], cmd["values"])
                elif op == "silent":
                    if cmd["on"]:
                        context._slaves.pop(cmd["unit"], None)
                    else:
                        context._slaves[cmd["unit"]] = units[cmd["unit"]]
                elif op == "corrupt":
                    state["corrupt"] = cmd["count"]
                print("OK", flush=True)
            except Exception as exc:  # a bad command must not kill the slave
                print(f"ERR {exc}", flush=True)
        loop.call_soon_threadsafe(stop.set)

    async def run():
        kwargs = dict(context=context, defer_start=True, ignore_missing_slaves=True,
                      response_manipulator=manipulate)
        if args.serial:
            server = await StartAsyncSerialServer(port=args.serial, baudrate=args.baud,
                                                  framer=ModbusRtuFramer, **kwargs)
            await server.start()
            if server.transport is None:
                raise SystemExit(f"cannot open {args.serial}")
        else:
            server = await StartAsyncTcpServer(address=("127.0.0.1", args.tcp), allow_reuse_address=True, **kwargs)
        task = asyncio.create_task(server.serve_forever())
        if args.serial:
            await asyncio.sleep(0.05)
        else:  # READY only once the socket listens (or the bind error, if it failed)
            await asyncio.wait([task, server.serving], return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                task.result()
        print("READY", flush=True)
        threading.Thread(target=commands, daemon=True).start()
        await stop.wait()
        task.cancel()
        await server.shutdown()

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    stop = asyncio.Event()
    loop.run_until_complete(run())


if __name__ == "__main__":
    main()
