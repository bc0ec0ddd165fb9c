"""A three-node Galera cluster on the loopback, for `make test-cluster`.

Each node is a mariadbd of its own: its own datadir, client TCP port,
group-communication (wsrep) port, IST port and SST port.  Node 1 starts the
cluster (--wsrep-new-cluster); the others join it and receive its data by
rsync SST.  The group timeouts are short so that a node killed with SIGKILL
leaves the group in about three seconds instead of the default fifteen.
Only the Python standard library is used; the stack's helpers come from
scripts/apigw_stack.py.
"""

import os
import pwd
import shutil
import signal
import time

import apigw_stack as st

PROVIDER = "/usr/lib/galera/libgalera_smm.so"

# Keepalive <= inactive check <= suspect <= inactive (Galera's own rule).
EVS = ("evs.keepalive_period=PT0.5S;evs.inactive_check_period=PT0.5S;"
       "evs.suspect_timeout=PT1.5S;evs.inactive_timeout=PT3S;evs.install_timeout=PT3S")


class Node(st.MariaDB):
    """One member of the cluster; self.port is its client TCP port.  The
    stack's MariaDB gives it install(), sql() and stop()."""

    def __init__(self, cluster, index):
        node_dir = os.path.join(cluster.dir, "node%d" % index)
        super().__init__(os.path.join(node_dir, "data"),
                         st.short_socket_path(os.path.join(node_dir, "db.sock"),
                                              "gal%d" % index), node_dir, durable=False)
        self.cluster = cluster
        self.index = index
        self.dir = node_dir
        self.port, self.wsrep_port, self.ist_port, self.sst_port = (st.free_port()
                                                                  for _ in range(4))

    def argv(self, bootstrap):
        c = self.cluster
        options = "gmcast.listen_addr=tcp://127.0.0.1:%d;ist.recv_addr=127.0.0.1:%d;%s" % (
            self.wsrep_port, self.ist_port, EVS)
        argv = ["mariadbd", "--no-defaults", "--user=root", "--datadir=" + self.datadir,
                "--tmpdir=" + self.dir, "--socket=" + self.socket, "--port=%d" % self.port,
                "--bind-address=127.0.0.1",
                "--pid-file=" + os.path.join(self.dir, "mariadb.pid"),
                "--log-error=" + os.path.join(self.dir, "mariadb.err"),
                "--max-connections=1000", "--max-prepared-stmt-count=200000",
                "--innodb-buffer-pool-size=128M", "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_unicode_ci", "--skip-name-resolve",
                "--innodb-flush-log-at-trx-commit=0", "--sync-binlog=0",
                "--innodb-doublewrite=0",
                # What Galera needs (docs/DEPLOYMENT.md).
                "--binlog-format=ROW", "--innodb-autoinc-lock-mode=2",
                "--default-storage-engine=InnoDB", "--wsrep-on=ON",
                "--wsrep-provider=" + PROVIDER, "--wsrep-cluster-name=apigw-test",
                "--wsrep-cluster-address=gcomm://" + ",".join(
                    "127.0.0.1:%d" % n.wsrep_port for n in c.nodes),
                "--wsrep-node-name=node%d" % self.index,
                "--wsrep-node-address=127.0.0.1:%d" % self.wsrep_port,
                "--wsrep-node-incoming-address=127.0.0.1:%d" % self.port,
                "--wsrep-sst-method=rsync",
                "--wsrep-sst-receive-address=127.0.0.1:%d" % self.sst_port,
                "--wsrep-provider-options=" + options,
                "--wsrep-retry-autocommit=4", "--wsrep-slave-threads=2"]
        if bootstrap:
            argv.append("--wsrep-new-cluster")
        return argv

    def let_rsync_write(self):
        """The SST's rsync daemon, started by root, writes as nobody: the
        joiner's datadir becomes nobody's and its parents passable."""
        if os.geteuid() != 0:
            return
        nobody = pwd.getpwnam("nobody")
        for d in (self.cluster.dir, self.dir):
            os.chmod(d, 0o711)
        for d, _, files in os.walk(self.datadir):
            os.chown(d, nobody.pw_uid, nobody.pw_gid)
            for f in files:
                os.chown(os.path.join(d, f), nobody.pw_uid, nobody.pw_gid)

    def start(self, bootstrap=False, wait=True):
        os.makedirs(self.datadir, exist_ok=True)
        if bootstrap:
            self.install()
        else:
            self.let_rsync_write()
        self.process = st.Process("node%d" % self.index, self.argv(bootstrap),
                                  os.path.join(self.dir, "mariadb.out")).start()
        if wait:
            self.wait_synced()
        return self

    def wait_synced(self, timeout=120):
        st.wait_for(self.synced, timeout, "node %d Synced" % self.index)

    def status(self, name):
        """A wsrep status value, or None when the node does not answer."""
        if self.process is None or not self.process.alive():
            return None
        try:
            out = self.sql("SHOW STATUS LIKE '%s'" % name)
        except RuntimeError:
            return None
        parts = out.split()
        return parts[1] if len(parts) == 2 else None

    def synced(self):
        if self.process is not None and not self.process.alive():
            raise RuntimeError("node %d exited:\n%s" % (self.index, self.error_log()))
        return self.status("wsrep_local_state_comment") == "Synced"

    def error_log(self):
        return self._error_log()

    def kill(self):
        """SIGKILL: the node vanishes without a word to the group."""
        self.process.stop(signal.SIGKILL, timeout=10)


class Cluster:
    def __init__(self, root, size=3):
        self.dir = root
        self.nodes = []
        for i in range(1, size + 1):
            self.nodes.append(Node(self, i))

    def start(self):
        self.nodes[0].start(bootstrap=True)
        for n in self.nodes[1:]:
            n.start()
        return self

    def sql(self, statement, database=None):
        """Runs SQL on the first node that runs."""
        for n in self.nodes:
            if n.process is not None and n.process.alive():
                return n.sql(statement, database)
        raise RuntimeError("no node of the cluster is running")

    def size(self, via):
        v = via.status("wsrep_cluster_size")
        return int(v) if v is not None else 0

    def stop(self):
        for n in reversed(self.nodes):
            try:
                n.stop()
            except Exception:
                pass


def has_tools():
    """What `make test-cluster` needs besides the test stack."""
    missing = [p for p in ("rsync", "mariadbd", "wrk") if shutil.which(p) is None]
    if not os.path.exists(PROVIDER):
        missing.append(PROVIDER)
    return missing


def now_ms():
    return int(time.monotonic() * 1000)
