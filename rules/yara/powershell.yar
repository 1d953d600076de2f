// PowerShell download cradles and encoded launchers.

rule PowerShell_Download_Cradle
{
  meta:
    description = "PowerShell download cradle (download and execute)"
    severity = 7
    technique = "T1059.001,T1105"
  strings:
    $dl1 = "DownloadString(" nocase
    $dl2 = "DownloadFile(" nocase
    $dl3 = "DownloadData(" nocase
    $dl4 = "Invoke-WebRequest" nocase
    $dl5 = "Start-BitsTransfer" nocase
    $dl6 = /\biwr\s+-?u?r?i?\s*['"]?https?:/ nocase
    $net = "Net.WebClient" nocase
    $ex1 = "IEX" nocase
    $ex2 = "Invoke-Expression" nocase
    $ex3 = "Start-Process" nocase
    $ex4 = /\|\s*iex\b/ nocase
  condition:
    (any of ($dl*) or $net) and any of ($ex*)
}

rule PowerShell_Encoded_Hidden_Launcher
{
  meta:
    description = "PowerShell started hidden with an encoded command"
    severity = 6
    technique = "T1059.001,T1027"
  strings:
    $ps = "powershell" nocase
    $enc = /\s-(e|en|enc|enco|encod|encode|encodedcommand)\s+[A-Za-z0-9+\/=]{20,}/ nocase
    $hid = /\s-(w|win|window|windowstyle)\s+(hidden|1)\b/ nocase
    $nop = /\s-(nop|noprofile)\b/ nocase
  condition:
    $ps and $enc and ($hid or $nop)
}
