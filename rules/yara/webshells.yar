// Web shells and reverse shells: strings that rarely occur in benign files.

rule Webshell_PHP_Eval_Request
{
  meta:
    description = "PHP web shell: code from the request evaluated"
    severity = 8
    technique = "T1505.003"
  strings:
    $a = /(eval|assert|system|passthru|shell_exec|exec|popen|proc_open)\s*\(\s*(base64_decode\s*\(\s*)?\$_(GET|POST|REQUEST|COOKIE|SERVER)\s*\[/ nocase
    $b = /preg_replace\s*\(\s*['"][^'"]{1,20}\/e['"]/ nocase
    $c = "create_function" nocase
    $req = /\$_(GET|POST|REQUEST|COOKIE)/
  condition:
    $a or $b or ($c and $req)
}

rule Webshell_ASPX_JSP_Exec
{
  meta:
    description = "ASP/ASPX/JSP web shell: request parameter runs a command"
    severity = 8
    technique = "T1505.003"
  strings:
    $jsp1 = "Runtime.getRuntime().exec(request.getParameter" nocase
    $asp1 = /eval\s*\(\s*Request(\.Item)?\s*[\[\(]/ nocase
    $asp2 = "ProcessStartInfo" nocase
    $asp3 = /Request(\.Form|\.QueryString)?\s*\[/ nocase
    $asp4 = "cmd.exe" nocase
  condition:
    $jsp1 or $asp1 or ($asp2 and $asp3 and $asp4)
}

rule Reverse_Shell_Unix
{
  meta:
    description = "Unix reverse shell one-liner"
    severity = 8
    technique = "T1059.004"
  strings:
    $bash = /(bash|sh)\s+-i\s*>&\s*\/dev\/tcp\/[0-9A-Za-z.\-]+\/[0-9]{1,5}/
    $devtcp = /\/dev\/tcp\/[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\/[0-9]{1,5}/
    $nc = /\b(nc|ncat|netcat)(\.traditional)?\s+(-[a-z]*e\s+\/bin\/(ba)?sh|.*\s-e\s+\/bin\/(ba)?sh)/
    $mkfifo = /mkfifo\s+\/tmp\/[a-z0-9]+;\s*(nc|cat)\b/
    $py = /socket\.socket\(socket\.AF_INET.{0,200}(os\.dup2|pty\.spawn)/ 
    $perl = /perl\s+-e\s+['"]use Socket;/
  condition:
    any of them
}

rule Reverse_Shell_PowerShell
{
  meta:
    description = "PowerShell reverse shell (TCPClient stream loop)"
    severity = 8
    technique = "T1059.001"
  strings:
    $a = "Net.Sockets.TCPClient" nocase
    $b = "GetStream()" nocase
    $c = "iex" nocase
    $d = "Invoke-Expression" nocase
  condition:
    $a and $b and ($c or $d)
}
