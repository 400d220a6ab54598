// The vCenter simulator the vSphere driver is tested against: govmomi's own simulator
// (Debian's golang-github-vmware-govmomi-dev, 0.24.2) with a model shaped like one small
// vCenter cloud. It is built by scripts/lib/vcsim-up; govmomi ships no vcsim command in
// Debian, so this file is the command. Every handler added to the simulator here is listed
// in crates/driver-vsphere/SIMULATOR.md with what a real vCenter does.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"time"
	"flag"
	"fmt"
	"io/ioutil"
	"log"
	"net/url"
	"os"
	"os/signal"
	"path"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// diskManager adds to the simulator's VirtualDiskManager the methods 0.24.2 lacks. It embeds
// it by value: the property collector digs the managed object out of a wrapper's first field.
type diskManager struct {
	simulator.VirtualDiskManager
}

// localFile is where a datastore path (`[ds] dir/file`) lives in the simulator's directories.
func localFile(dsPath string) (string, types.BaseMethodFault) {
	var p object
	if !p.parse(dsPath) {
		return "", &types.InvalidDatastorePath{DatastorePath: dsPath}
	}
	for _, e := range simulator.Map.All("Datastore") {
		ds := e.(*simulator.Datastore)
		if ds.Name == p.datastore {
			return path.Join(ds.Info.GetDatastoreInfo().Url, p.path), nil
		}
	}
	return "", &types.InvalidDatastore{Name: p.datastore}
}

type object struct{ datastore, path string }

func (o *object) parse(s string) bool {
	if !strings.HasPrefix(s, "[") {
		return false
	}
	i := strings.Index(s, "]")
	if i < 0 {
		return false
	}
	o.datastore = s[1:i]
	o.path = strings.TrimSpace(s[i+1:])
	return true
}

// CreateVirtualDiskTask is vCenter's CreateVirtualDisk_Task for a file-backed disk: a
// descriptor whose extent line gives the size, and a (sparse) flat extent of that size.
// 0.24.2 makes two empty files, which no client can read a size from.
func (m *diskManager) CreateVirtualDiskTask(ctx *simulator.Context, req *types.CreateVirtualDisk_Task) soap.HasFault {
	task := simulator.CreateTask(m, "createVirtualDisk", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		spec, ok := req.Spec.(*types.FileBackedVirtualDiskSpec)
		if !ok {
			return nil, &types.InvalidArgument{InvalidProperty: "spec"}
		}
		descriptor, fault := localFile(req.Name)
		if fault != nil {
			return nil, fault
		}
		if _, err := os.Stat(descriptor); err == nil {
			return nil, &types.FileAlreadyExists{FileFault: types.FileFault{File: req.Name}}
		}
		if err := os.MkdirAll(path.Dir(descriptor), 0o755); err != nil {
			return nil, &types.CannotCreateFile{FileFault: types.FileFault{File: req.Name}}
		}
		base := strings.TrimSuffix(path.Base(descriptor), ".vmdk")
		flat := strings.TrimSuffix(descriptor, ".vmdk") + "-flat.vmdk"
		f, err := os.Create(flat)
		if err != nil {
			return nil, &types.CannotCreateFile{FileFault: types.FileFault{File: req.Name}}
		}
		_ = f.Close()
		if err := os.Truncate(flat, spec.CapacityKb*1024); err != nil {
			return nil, &types.CannotCreateFile{FileFault: types.FileFault{File: req.Name}}
		}
		text := fmt.Sprintf("# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"vmfs\"\n\n"+
			"# Extent description\nRW %d VMFS \"%s-flat.vmdk\"\n\nddb.adapterType = \"%s\"\n",
			spec.CapacityKb*2, base, spec.AdapterType)
		if err := ioutil.WriteFile(descriptor, []byte(text), 0o644); err != nil {
			return nil, &types.CannotCreateFile{FileFault: types.FileFault{File: req.Name}}
		}
		return req.Name, nil
	})
	return &methods.CreateVirtualDisk_TaskBody{
		Res: &types.CreateVirtualDisk_TaskResponse{Returnval: task.Run()},
	}
}

var extentLine = regexp.MustCompile(`(?m)^(RW )\d+( (?:FLAT|VMFS) )`)

// ExtendVirtualDiskTask is vCenter's ExtendVirtualDisk_Task for a flat disk: the extent grows
// to newCapacityKb and the descriptor's extent line says so; a smaller size is refused, as
// vCenter refuses to shrink a disk.
func (m *diskManager) ExtendVirtualDiskTask(ctx *simulator.Context, req *types.ExtendVirtualDisk_Task) soap.HasFault {
	task := simulator.CreateTask(m, "extendVirtualDisk", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		descriptor, fault := localFile(req.Name)
		if fault != nil {
			return nil, fault
		}
		flat := strings.TrimSuffix(descriptor, ".vmdk") + "-flat.vmdk"
		info, err := os.Stat(flat)
		if err != nil {
			return nil, &types.FileNotFound{FileFault: types.FileFault{File: req.Name}}
		}
		size := req.NewCapacityKb * 1024
		if size < info.Size() {
			return nil, &types.InvalidArgument{InvalidProperty: "newCapacityKb"}
		}
		if err := os.Truncate(flat, size); err != nil {
			return nil, &types.CannotAccessFile{FileFault: types.FileFault{File: req.Name}}
		}
		text, err := ioutil.ReadFile(descriptor)
		if err != nil {
			return nil, &types.CannotAccessFile{FileFault: types.FileFault{File: req.Name}}
		}
		sectors := strconv.FormatInt(size/512, 10)
		text = extentLine.ReplaceAll(text, []byte("${1}"+sectors+"${2}"))
		if err := ioutil.WriteFile(descriptor, text, 0o644); err != nil {
			return nil, &types.CannotAccessFile{FileFault: types.FileFault{File: req.Name}}
		}
		return nil, nil
	})
	return &methods.ExtendVirtualDisk_TaskBody{
		Res: &types.ExtendVirtualDisk_TaskResponse{Returnval: task.Run()},
	}
}

// selfSigned makes a certificate authority of its own and a certificate for the loopback
// addresses signed by it, as a vCenter's VMCA does until an operator brings another; the CA
// is what a client is given to trust. (govmomi's built-in test certificate is its own CA with
// a 1024-bit RSA key, which rustls rightly refuses.)
func selfSigned() (tls.Certificate, []byte) {
	newKey := func() *ecdsa.PrivateKey {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			log.Fatalf("vcsim: key: %v", err)
		}
		return key
	}
	serial := func() *big.Int {
		n, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
		return n
	}
	caKey, leafKey := newKey(), newKey()
	ca := x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "vcsim CA", Organization: []string{"hybridstack tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, &ca, &ca, &caKey.PublicKey, caKey)
	if err != nil {
		log.Fatalf("vcsim: CA certificate: %v", err)
	}
	leaf := x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "127.0.0.1", Organization: []string{"hybridstack tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		DNSNames:              []string{"localhost"},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, &leaf, &ca, &leafKey.PublicKey, caKey)
	if err != nil {
		log.Fatalf("vcsim: certificate: %v", err)
	}
	cert := tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: leafKey}
	return cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on (port 0 picks a free one)")
	plain := flag.Bool("plain-http", false, "serve plain HTTP instead of HTTPS with a self-signed certificate")
	user := flag.String("user", "hybridstack", "the one user name Login accepts")
	password := flag.String("password", "vcsim-secret", "its password")
	urlFile := flag.String("url-file", "", "write the SDK URL here once listening")
	certFile := flag.String("cert-file", "", "write the PEM certificate of the CA that signed the server's here once listening")
	hosts := flag.Int("hosts", 3, "hosts in the one cluster")
	flag.Parse()

	model := simulator.VPX()
	model.Datacenter = 1
	model.Cluster = 1
	model.ClusterHost = *hosts
	model.Host = 0
	model.Datastore = 1
	model.Portgroup = 1
	// No VMs of the simulator's own: whatever an inventory shows was made by the test.
	model.Machine = 0
	model.Autostart = false
	if err := model.Create(); err != nil {
		log.Fatalf("vcsim: create model: %v", err)
	}
	if vdm, ok := simulator.Map.VirtualDiskManager().(*simulator.VirtualDiskManager); ok {
		simulator.Map.Put(&diskManager{*vdm})
	}
	var certPEM []byte
	if !*plain {
		var cert tls.Certificate
		cert, certPEM = selfSigned()
		model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	model.Service.RegisterEndpoints = true
	model.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword(*user, *password)}

	server := model.Service.NewServer()
	defer server.Close()
	defer model.Remove()

	sdk := *server.URL
	sdk.User = nil
	if *certFile != "" && certPEM != nil {
		if err := ioutil.WriteFile(*certFile, certPEM, 0o644); err != nil {
			log.Fatalf("vcsim: certificate: %v", err)
		}
	}
	if *urlFile != "" {
		if err := ioutil.WriteFile(*urlFile+".tmp", []byte(sdk.String()+"\n"), 0o644); err != nil {
			log.Fatalf("vcsim: url file: %v", err)
		}
		if err := os.Rename(*urlFile+".tmp", *urlFile); err != nil {
			log.Fatalf("vcsim: url file: %v", err)
		}
	}
	fmt.Println(sdk.String())

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}
