#!/usr/bin/env python3
"""A second pair of eyes on a vCenter: VMware's own SDK (pyvmomi), which nobody here wrote,
reports what the vCenter holds, for tests to compare with what hybridstack says.

Usage: pyvmomi_view.py URL USER COMMAND   (the password in VCENTER_PASSWORD)
  inventory         JSON: every VM (name, instanceUuid, power state, CPUs, memory, the
                    hybridstack.* extraConfig keys, disks with file and size, NICs with MAC
                    and port group), every distributed port group (name, key, VLAN,
                    description), and every file (not directory) on each datastore (the
                    simulator's hold only what the tests made)
  terminate-others  ends every session but this one (what an administrator does in the
                    vSphere client); prints how many
  fetch DC PATH OUT downloads datastore file `[ds] path` of datacenter DC over the /folder
                    endpoint with this session, to OUT; prints its size
  put DC PATH IN    writes local file IN to datastore file `[ds] path` (what a guest's serial
                    console does to its file); prints its size
  create-vm DC FOLDER NAME UUID KEY=VALUE...
                    makes and powers on a VM named NAME with instanceUuid UUID and those
                    extraConfig entries, in VM folder FOLDER of DC, on DC's first cluster
                    and datastore (what someone else's tool, or a lost step, leaves behind)
  power-off UUID    powers off the VM of that instanceUuid behind hybridstack's back
"""

import json
import os
import ssl
import sys
import urllib.parse
import urllib.request

from pyVim.connect import Disconnect, SmartConnect
from pyVim.task import WaitForTask
from pyVmomi import vim, vmodl


def connect(url, user):
    u = urllib.parse.urlparse(url)
    if u.scheme == "http":
        return SmartConnect(
            protocol="http", host=u.hostname, port=u.port or 80, user=user, pwd=os.environ["VCENTER_PASSWORD"]
        )
    # The simulator's certificate is self-signed; what is checked here is the inventory.
    ctx = ssl._create_unverified_context()
    return SmartConnect(
        host=u.hostname, port=u.port or 443, user=user, pwd=os.environ["VCENTER_PASSWORD"], sslContext=ctx
    )


def all_of(si, kind):
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [kind], True)
    try:
        return list(view.view)
    finally:
        view.Destroy()


def prop(si, obj, path):
    """One property through the PropertyCollector (an unset one reads as None; the
    simulator fails pyvmomi's lazy fetch of some unset properties)."""
    pc = vmodl.query.PropertyCollector
    spec = pc.FilterSpec(
        objectSet=[pc.ObjectSpec(obj=obj)], propSet=[pc.PropertySpec(type=type(obj), pathSet=[path])]
    )
    for content in si.content.propertyCollector.RetrieveContents([spec]):
        for p in content.propSet or []:
            return p.val
    return None


def vm_view(si, vm):
    cfg = vm.config
    devices = cfg.hardware.device if cfg else []
    disks = [
        {"file": d.backing.fileName, "capacity_kb": d.capacityInKB}
        for d in devices
        if isinstance(d, vim.vm.device.VirtualDisk)
    ]
    nics = [
        {
            "mac": d.macAddress,
            "type": type(d).__name__.rsplit(".", 1)[-1],
            "portgroup": getattr(getattr(d.backing, "port", None), "portgroupKey", None),
            "switch": getattr(getattr(d.backing, "port", None), "switchUuid", None),
        }
        for d in devices
        if isinstance(d, vim.vm.device.VirtualEthernetCard)
    ]
    cdroms = [
        d.backing.fileName
        for d in devices
        if isinstance(d, vim.vm.device.VirtualCdrom) and hasattr(d.backing, "fileName")
    ]
    serials = [
        d.backing.fileName
        for d in devices
        if isinstance(d, vim.vm.device.VirtualSerialPort) and hasattr(d.backing, "fileName")
    ]
    extra = {}
    for o in cfg.extraConfig if cfg else []:
        if o.key.startswith("hybridstack."):
            extra[o.key] = o.value  # the last entry of a key wins, as vCenter keeps one
    return {
        "name": vm.name,
        "instance_uuid": cfg.instanceUuid if cfg else None,
        "power": str(vm.runtime.powerState),
        "num_cpu": cfg.hardware.numCPU if cfg else None,
        "memory_mb": cfg.hardware.memoryMB if cfg else None,
        "extra": extra,
        "disks": disks,
        "nics": nics,
        "cdroms": cdroms,
        "serials": serials,
        "snapshots": len(prop(si, vm, "snapshot.rootSnapshotList") or []),
    }


def port_groups(si):
    out = []
    for pg in all_of(si, vim.dvs.DistributedVirtualPortgroup):
        vlan = getattr(getattr(pg.config.defaultPortConfig, "vlan", None), "vlanId", None)
        out.append(
            {
                "name": pg.name,
                "key": pg.key,
                # A trunk's (the uplinks') is a list of ranges, not one VLAN.
                "vlan": vlan if isinstance(vlan, int) else None,
                "description": pg.config.description,
            }
        )
    return out


def all_files(si):
    out = []
    for ds in all_of(si, vim.Datastore):
        spec = vim.host.DatastoreBrowser.SearchSpec(matchPattern=["*"])
        task = ds.browser.SearchDatastoreSubFolders_Task("[%s]" % ds.name, spec)
        try:
            WaitForTask(task)
        except vim.fault.FileNotFound:
            continue
        for result in task.info.result:
            for f in result.file or []:
                if isinstance(f, vim.host.DatastoreBrowser.FolderInfo):
                    continue  # an emptied directory holds nothing
                out.append(result.folderPath.rstrip("/") + "/" + f.path)
    return sorted(out)


def folder_url(url, dc, ds_path):
    ds, rel = ds_path[1:].split("] ", 1)
    u = urllib.parse.urlparse(url)
    query = urllib.parse.urlencode({"dcPath": dc, "dsName": ds})
    return "%s://%s/folder/%s?%s" % (u.scheme, u.netloc, urllib.parse.quote(rel), query)


def put(si, url, dc, ds_path, src):
    data = open(src, "rb").read()
    req = urllib.request.Request(
        folder_url(url, dc, ds_path), data=data, method="PUT", headers={"Cookie": si._stub.cookie}
    )
    with urllib.request.urlopen(req, context=ssl._create_unverified_context()):
        pass
    return len(data)


def fetch(si, url, dc, ds_path, out):
    req = urllib.request.Request(folder_url(url, dc, ds_path), headers={"Cookie": si._stub.cookie})
    with urllib.request.urlopen(req, context=ssl._create_unverified_context()) as r, open(out, "wb") as f:
        data = r.read()
        f.write(data)
    return len(data)


def create_vm(si, dc_name, folder_name, name, uuid, pairs):
    dc = next(d for d in all_of(si, vim.Datacenter) if d.name == dc_name)
    folder = next(f for f in dc.vmFolder.childEntity if isinstance(f, vim.Folder) and f.name == folder_name)
    cluster = next(c for c in dc.hostFolder.childEntity if isinstance(c, vim.ComputeResource))
    spec = vim.vm.ConfigSpec(
        name=name,
        numCPUs=1,
        memoryMB=64,
        guestId="otherGuest64",
        instanceUuid=uuid,
        files=vim.vm.FileInfo(vmPathName="[%s]" % dc.datastore[0].name),
        extraConfig=[vim.option.OptionValue(key=k, value=v) for k, v in (p.split("=", 1) for p in pairs)],
    )
    task = folder.CreateVM_Task(config=spec, pool=cluster.resourcePool)
    WaitForTask(task)
    WaitForTask(task.info.result.PowerOnVM_Task())
    return task.info.result._moId


def by_instance_uuid(si, uuid):
    vm = si.content.searchIndex.FindByUuid(None, uuid, True, True)
    if vm is None:
        sys.exit("no VM has instanceUuid %s" % uuid)
    return vm


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    url, user, command = sys.argv[1:4]
    si = connect(url, user)
    try:
        if command == "inventory":
            vms = [vm_view(si, vm) for vm in all_of(si, vim.VirtualMachine)]
            print(json.dumps({"vms": vms, "files": all_files(si), "port_groups": port_groups(si)}))
        elif command == "fetch" and len(sys.argv) == 7:
            print(fetch(si, url, *sys.argv[4:7]))
        elif command == "put" and len(sys.argv) == 7:
            print(put(si, url, *sys.argv[4:7]))
        elif command == "create-vm" and len(sys.argv) >= 8:
            print(create_vm(si, sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7], sys.argv[8:]))
        elif command == "power-off" and len(sys.argv) == 5:
            WaitForTask(by_instance_uuid(si, sys.argv[4]).PowerOffVM_Task())
            print("poweredOff")
        elif command == "terminate-others":
            sm = si.content.sessionManager
            mine = sm.currentSession.key
            others = [s.key for s in sm.sessionList if s.key != mine]
            if others:
                sm.TerminateSession(others)
            print(len(others))
        else:
            sys.exit("unknown command %r" % command)
    finally:
        Disconnect(si)


if __name__ == "__main__":
    main()
