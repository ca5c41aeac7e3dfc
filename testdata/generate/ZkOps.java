// Small scripted ZooKeeper Java client used by generate.py for operations that
// kazoo cannot issue (create2 with Stat through the Java API, containers, TTL
// nodes, multi with container/TTL creates, null data).
//
// Compiled at generation time against the ZooKeeper 3.5+ jar of the version
// being exercised. Usage:
//   java -cp <build>:<zk classpath> ZkOps <host:port> <sessionTimeoutMs> < script
//
// Script: one command per line, blank lines and lines starting with '#' ignored.
//   create  PATH DATA MODE [TTL]   Java create(path,data,acl,mode[,stat,ttl])
//   create2 PATH DATA MODE [TTL]   create(path,data,acl,mode,stat[,ttl]) (create2/createContainer/createTTL)
//   set     PATH DATA [VERSION]
//   delete  PATH [VERSION]
//   multi                          following lines up to 'end' are ops:
//     c PATH DATA MODE [TTL] | d PATH [VERSION] | s PATH DATA [VERSION] | k PATH VERSION
//   end
//   sleep   MS
//   waitgone PATH TIMEOUT_MS      poll until PATH no longer exists
//   close                          close the session cleanly and exit
//   abandon                        exit WITHOUT closing the session (it expires later)
// DATA: '-' = empty, 'null' = null, 'hex:..' = bytes, anything else = UTF-8 text.
// MODE: a CreateMode name (PERSISTENT, EPHEMERAL_SEQUENTIAL, CONTAINER, PERSISTENT_WITH_TTL, ...).
// Each executed command prints one line "ok ..." or "err <command> <KeeperException code>".

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.Stat;

public class ZkOps {
    static byte[] data(String s) {
        if (s.equals("null")) return null;
        if (s.equals("-")) return new byte[0];
        if (s.startsWith("hex:")) {
            String h = s.substring(4);
            byte[] b = new byte[h.length() / 2];
            for (int i = 0; i < b.length; i++) {
                b[i] = (byte) Integer.parseInt(h.substring(2 * i, 2 * i + 2), 16);
            }
            return b;
        }
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String stat(Stat st) {
        return String.format("czxid=0x%x mzxid=0x%x pzxid=0x%x version=%d cversion=%d owner=0x%x len=%d",
                st.getCzxid(), st.getMzxid(), st.getPzxid(), st.getVersion(), st.getCversion(),
                st.getEphemeralOwner(), st.getDataLength());
    }

    static Op op(String[] t) {
        switch (t[0]) {
            case "c": {
                CreateMode m = CreateMode.valueOf(t[3]);
                if (t.length > 4) {
                    return Op.create(t[1], data(t[2]), ZooDefs.Ids.OPEN_ACL_UNSAFE, m, Long.parseLong(t[4]));
                }
                return Op.create(t[1], data(t[2]), ZooDefs.Ids.OPEN_ACL_UNSAFE, m);
            }
            case "d":
                return Op.delete(t[1], t.length > 2 ? Integer.parseInt(t[2]) : -1);
            case "s":
                return Op.setData(t[1], data(t[2]), t.length > 3 ? Integer.parseInt(t[3]) : -1);
            case "k":
                return Op.check(t[1], Integer.parseInt(t[2]));
            default:
                throw new IllegalArgumentException("bad multi op " + t[0]);
        }
    }

    public static void main(String[] args) throws Exception {
        CountDownLatch connected = new CountDownLatch(1);
        ZooKeeper zk = new ZooKeeper(args[0], Integer.parseInt(args[1]), e -> {
            if (e.getState() == Watcher.Event.KeeperState.SyncConnected) connected.countDown();
        });
        if (!connected.await(30, TimeUnit.SECONDS)) throw new RuntimeException("not connected");
        System.out.printf("session 0x%x%n", zk.getSessionId());
        System.out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            line = line.trim();
            if (line.isEmpty() || line.startsWith("#")) continue;
            String[] t = line.split("\\s+");
            try {
                switch (t[0]) {
                    case "create": {
                        CreateMode m = CreateMode.valueOf(t[3]);
                        String p;
                        if (t.length > 4) {
                            p = zk.create(t[1], data(t[2]), ZooDefs.Ids.OPEN_ACL_UNSAFE, m, new Stat(), Long.parseLong(t[4]));
                        } else {
                            p = zk.create(t[1], data(t[2]), ZooDefs.Ids.OPEN_ACL_UNSAFE, m);
                        }
                        System.out.println("ok create " + p);
                        break;
                    }
                    case "create2": {
                        CreateMode m = CreateMode.valueOf(t[3]);
                        Stat st = new Stat();
                        String p = t.length > 4
                                ? zk.create(t[1], data(t[2]), ZooDefs.Ids.OPEN_ACL_UNSAFE, m, st, Long.parseLong(t[4]))
                                : zk.create(t[1], data(t[2]), ZooDefs.Ids.OPEN_ACL_UNSAFE, m, st);
                        System.out.println("ok create2 " + p + " " + stat(st));
                        break;
                    }
                    case "set": {
                        Stat st = zk.setData(t[1], data(t[2]), t.length > 3 ? Integer.parseInt(t[3]) : -1);
                        System.out.println("ok set " + t[1] + " " + stat(st));
                        break;
                    }
                    case "delete":
                        zk.delete(t[1], t.length > 2 ? Integer.parseInt(t[2]) : -1);
                        System.out.println("ok delete " + t[1]);
                        break;
                    case "multi": {
                        List<Op> ops = new ArrayList<>();
                        String l2;
                        while ((l2 = in.readLine()) != null && !l2.trim().equals("end")) {
                            if (l2.trim().isEmpty()) continue;
                            ops.add(op(l2.trim().split("\\s+")));
                        }
                        try {
                            List<OpResult> res = zk.multi(ops);
                            System.out.println("ok multi " + res.size());
                        } catch (KeeperException e) {
                            System.out.println("err multi " + e.code());
                        }
                        break;
                    }
                    case "sleep":
                        Thread.sleep(Long.parseLong(t[1]));
                        break;
                    case "waitgone": {
                        long deadline = System.currentTimeMillis() + Long.parseLong(t[2]);
                        while (zk.exists(t[1], false) != null) {
                            if (System.currentTimeMillis() > deadline) {
                                System.out.println("err waitgone timeout " + t[1]);
                                break;
                            }
                            Thread.sleep(200);
                        }
                        System.out.println("ok waitgone " + t[1]);
                        break;
                    }
                    case "close":
                        zk.close();
                        System.out.println("ok close");
                        System.out.flush();
                        System.exit(0);
                        break;
                    case "abandon":
                        System.out.println("ok abandon");
                        System.out.flush();
                        Runtime.getRuntime().halt(0);
                        break;
                    default:
                        throw new IllegalArgumentException("unknown command " + t[0]);
                }
            } catch (KeeperException e) {
                System.out.println("err " + t[0] + " " + e.code() + " " + (t.length > 1 ? t[1] : ""));
            }
            System.out.flush();
        }
        zk.close();
    }
}
