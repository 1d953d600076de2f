// VBA macros that run automatically and start programs (source as found in vbaProject.bin streams
// after decompression by the office detectors, or in plain .bas/.vba text).

rule VBA_AutoExec_Shell
{
  meta:
    description = "VBA macro runs automatically and starts a program"
    severity = 8
    technique = "T1059.005,T1204.002"
  strings:
    $auto1 = "AutoOpen" nocase
    $auto2 = "Document_Open" nocase
    $auto3 = "Workbook_Open" nocase
    $auto4 = "Auto_Open" nocase
    $auto5 = "Document_Close" nocase
    $auto6 = "AutoClose" nocase
    $exec1 = /\bShell\s*\(/ nocase
    $exec2 = "WScript.Shell" nocase
    $exec3 = "Shell.Application" nocase
    $exec4 = /\.Run\s*\(?\s*["a-z]/ nocase
    $exec5 = "CreateProcess" nocase
    $exec6 = "ShellExecute" nocase
    $exec7 = "Win32_Process" nocase
  condition:
    any of ($auto*) and any of ($exec*)
}

rule VBA_Download_Execute
{
  meta:
    description = "VBA macro downloads a file and runs it"
    severity = 8
    technique = "T1059.005,T1105"
  strings:
    $x1 = "MSXML2.XMLHTTP" nocase
    $x2 = "WinHttp.WinHttpRequest" nocase
    $x3 = "URLDownloadToFile" nocase
    $s1 = "ADODB.Stream" nocase
    $s2 = "SaveToFile" nocase
    $e1 = /\bShell\s*\(/ nocase
    $e2 = "WScript.Shell" nocase
    $e3 = "ShellExecute" nocase
  condition:
    any of ($x*) and (any of ($s*) or any of ($e*)) and any of ($e*)
}
