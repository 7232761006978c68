# logtail-xacct host script (Windows, PowerShell 5.1 or later). Runs as SYSTEM through Cloud
# Assistant, or by hand:
#
#   powershell -NoProfile -ExecutionPolicy Bypass -File windows.ps1 authorize --uid <UID> --id <IDENTIFIER> [--restart changed|always|never]
#   powershell ... -File windows.ps1 revoke --uid <UID> --id <IDENTIFIER> [--other-id <IDENTIFIER>]... [--restart ...]
#   powershell ... -File windows.ps1 inspect
#
# The same actions, rules, output and exit codes as linux.sh, on C:\LogtailData\ and the Logtail
# service (LogtailDaemon, older installs LogtailWorker). When Cloud Assistant runs it, the caller
# binds the arguments in $LtxArguments on the line before this script.
#
# Exit codes: 0 files are as requested; 2 invalid arguments, nothing written; 3 the files cannot be
# changed safely (link, lock timeout); 4 a write failed.

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

$DataDir = 'C:\LogtailData'
$UsersDir = Join-Path $DataDir 'users'
$IdFile = Join-Path $DataDir 'user_defined_id'
$ScriptVersion = 1
$LockWaitSeconds = 30

# The same patterns as shared/config/patterns.ts. \z, not $: in .NET, $ also matches before a
# trailing newline, which would let "id`n" through.
$UidPattern = '^[0-9]{16}\z'
$IdentifierPattern = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\z'

if (-not (Test-Path variable:LtxArguments)) { $LtxArguments = $args }

$State = @{
  Action = $null; Uid = $null; Id = $null; OtherIds = @(); RestartMode = 'changed'
  UidFileChanged = $false; IdFileChanged = $false
  Flavor = 'none'; Control = 'none'; Service = $null; Running = $false; Restarted = $false; RestartError = $null
}

function Get-IdentifierLines {
  if (-not (Test-Path -LiteralPath $IdFile -PathType Leaf)) { return @() }
  $text = [System.IO.File]::ReadAllText($IdFile, (New-Object System.Text.UTF8Encoding $false))
  $lines = @()
  foreach ($line in $text.Split("`n")) {
    $trimmed = $line.Trim(' ')
    if ($trimmed -ne '') { $lines += $trimmed }
  }
  return ,$lines
}

function Get-UidFiles {
  if (-not (Test-Path -LiteralPath $UsersDir -PathType Container)) { return @() }
  return ,@(Get-ChildItem -LiteralPath $UsersDir -Force | Where-Object { -not $_.Name.StartsWith('.') } | ForEach-Object { $_.Name } | Sort-Object)
}

function Get-AppInfo {
  foreach ($dir in @("$env:ProgramFiles\Alibaba\Logtail", "${env:ProgramFiles(x86)}\Alibaba\Logtail")) {
    $path = Join-Path $dir 'app_info.json'
    if (Test-Path -LiteralPath $path -PathType Leaf) {
      try { return (Get-Content -LiteralPath $path -Raw | ConvertFrom-Json) } catch { return $null }
    }
  }
  return $null
}

function Get-DmiUuid {
  try { return [string](Get-CimInstance -ClassName Win32_ComputerSystemProduct).UUID } catch { return $null }
}

function Write-Report([bool]$Ok, [string]$ErrorCode, [string]$ErrorMessage) {
  $info = Get-AppInfo
  $version = $null
  $ip = $null
  $hostname = $null
  $agentUuid = $null
  $agentHostId = $null
  if ($null -ne $info) {
    if ($info.PSObject.Properties['logtail_version']) { $version = [string]$info.logtail_version }
    if ($info.PSObject.Properties['ip']) { $ip = [string]$info.ip }
    if ($info.PSObject.Properties['hostname']) { $hostname = [string]$info.hostname }
    # What the agent heartbeats with (machine-uniqueid, host-id).
    if ($info.PSObject.Properties['UUID']) { $agentUuid = [string]$info.UUID }
    if ($info.PSObject.Properties['host_id']) { $agentHostId = [string]$info.host_id }
  }
  $errorValue = $null
  if ($ErrorCode) { $errorValue = [ordered]@{ code = $ErrorCode; message = $ErrorMessage } }
  $report = [ordered]@{
    tool = 'logtail-xacct'; scriptVersion = $ScriptVersion; action = $State.Action; ok = $Ok
    changed = [ordered]@{ uidFile = $State.UidFileChanged; identifiers = $State.IdFileChanged }
    uidFiles = @(Get-UidFiles); identifiers = @(Get-IdentifierLines)
    agent = [ordered]@{ flavor = $State.Flavor; control = $State.Control; running = $State.Running; restarted = $State.Restarted; restartError = $State.RestartError }
    host = [ordered]@{ dmiUuid = (Get-DmiUuid); ip = $ip; hostname = $hostname; agentVersion = $version; agentUuid = $agentUuid; agentHostId = $agentHostId }
    error = $errorValue
  }
  [Console]::Out.Write(($report | ConvertTo-Json -Compress -Depth 5) + "`n")
}

function Exit-Invalid([string]$Message) {
  [Console]::Error.WriteLine("logtail-xacct: $Message")
  Find-Agent
  Write-Report $false 'InvalidArgument' $Message
  exit 2
}

function Exit-Failure([int]$Code, [string]$ErrorCode, [string]$Message) {
  Write-Report $false $ErrorCode $Message
  exit $Code
}

function Read-Arguments([object[]]$Words) {
  if ($Words.Count -lt 1) { Exit-Invalid 'missing action: authorize, revoke or inspect' }
  $action = [string]$Words[0]
  if (@('authorize', 'revoke', 'inspect') -cnotcontains $action) { Exit-Invalid 'unknown action: expected authorize, revoke or inspect' }
  $State.Action = $action
  $seen = @{}
  $i = 1
  while ($i -lt $Words.Count) {
    $flag = [string]$Words[$i]
    if (@('--uid', '--id', '--other-id', '--restart') -cnotcontains $flag) { Exit-Invalid 'unknown argument (expected --uid, --id, --other-id or --restart)' }
    if ($i + 1 -ge $Words.Count) { Exit-Invalid "$flag needs a value" }
    $value = [string]$Words[$i + 1]
    if ($flag -ne '--other-id' -and $seen.ContainsKey($flag)) { Exit-Invalid "$flag given twice" }
    $seen[$flag] = $true
    switch -CaseSensitive ($flag) {
      '--uid' {
        if ($value -cnotmatch $UidPattern) { Exit-Invalid '--uid must be a 16-digit account UID' }
        $State.Uid = $value
      }
      '--id' {
        if ($value -cnotmatch $IdentifierPattern) { Exit-Invalid '--id must be 1-128 of A-Z a-z 0-9 . _ - starting with a letter or digit' }
        $State.Id = $value
      }
      '--other-id' {
        if ($value -cnotmatch $IdentifierPattern) { Exit-Invalid '--other-id must be 1-128 of A-Z a-z 0-9 . _ - starting with a letter or digit' }
        $State.OtherIds += $value
      }
      '--restart' {
        if (@('changed', 'always', 'never') -cnotcontains $value) { Exit-Invalid '--restart must be changed, always or never' }
        $State.RestartMode = $value
      }
    }
    $i += 2
  }
  if ($action -eq 'inspect' -and $seen.Count -gt 0) { Exit-Invalid 'inspect takes no --uid, --id, --other-id or --restart' }
  if ($action -ne 'inspect') {
    if (-not $State.Uid) { Exit-Invalid "$action needs --uid" }
    if (-not $State.Id) { Exit-Invalid "$action needs --id" }
  }
  if ($action -eq 'authorize' -and $State.OtherIds.Count -gt 0) { Exit-Invalid '--other-id is for revoke only' }
}

function Test-Reparse([string]$Path) {
  if (-not (Test-Path -LiteralPath $Path)) { return $false }
  $item = Get-Item -LiteralPath $Path -Force
  return [bool]($item.Attributes -band [System.IO.FileAttributes]::ReparsePoint)
}

function Assert-SafePaths {
  foreach ($path in @($DataDir, $UsersDir, $IdFile)) {
    if (Test-Reparse $path) { Exit-Failure 3 'UnsafePath' 'refusing to write through a link under C:\LogtailData' }
  }
}

# Writes next to the old file and moves it over it, so the agent never reads a half-written file.
# Our identifier keeps one clean line where it stands (or is appended); variants with stray spaces,
# tabs or CR are dropped; every other line is kept exactly; lines end with LF only.
function Update-IdentifierFile([bool]$Add) {
  $utf8 = New-Object System.Text.UTF8Encoding $false
  $old = ''
  if (Test-Path -LiteralPath $IdFile -PathType Leaf) { $old = [System.IO.File]::ReadAllText($IdFile, $utf8) }
  $lines = @()
  if ($old -ne '') { $lines = $old.Split("`n") }
  # Split leaves an empty last element after a final newline; it is not a line.
  if ($old.EndsWith("`n")) { $lines = @($lines | Select-Object -First ($lines.Count - 1)) }
  $out = New-Object System.Collections.Generic.List[string]
  $kept = $false
  foreach ($line in $lines) {
    if ($line.Trim(@([char]' ', [char]"`t", [char]"`r")) -ceq $State.Id) {
      if ($Add -and -not $kept -and $line -ceq $State.Id) { $out.Add($line); $kept = $true }
      continue
    }
    $out.Add($line)
  }
  if ($Add -and -not $kept) { $out.Add($State.Id) }
  $new = ''
  if ($out.Count -gt 0) { $new = ($out -join "`n") + "`n" }
  if ($new -ceq $old) { return }
  if (-not (Test-Path -LiteralPath $IdFile) -and $new -eq '') { return }
  # Revoking the last identifier removes the file: a host that had none has none again.
  if (-not $Add -and $new -eq '') {
    try { Remove-Item -LiteralPath $IdFile -Force } catch { Exit-Failure 4 'WriteFailed' 'cannot remove C:\LogtailData\user_defined_id' }
    $State.IdFileChanged = $true
    return
  }
  $tmp = Join-Path $DataDir (".user_defined_id.logtail-xacct.$PID")
  try {
    [System.IO.File]::WriteAllText($tmp, $new, $utf8)
    Move-Item -LiteralPath $tmp -Destination $IdFile -Force
  } catch {
    Remove-Item -LiteralPath $tmp -Force -ErrorAction SilentlyContinue
    Exit-Failure 4 'WriteFailed' 'cannot replace C:\LogtailData\user_defined_id'
  }
  $State.IdFileChanged = $true
}

# The route's configs read files beside the host's own configs and ship each line's position:
# options only Logtail 2.x knows. A 1.x agent would take such a config as a plain one and ship no
# positions, so its host is left as it is (as linux.sh does). An unknown version is not refused.
function Assert-AgentVersion {
  $info = Get-AppInfo
  if ($null -eq $info -or -not $info.PSObject.Properties['logtail_version']) { return }
  if ([string]$info.logtail_version -cmatch '^(\d+)\.') {
    if ([int]$Matches[1] -lt 2) { Exit-Failure 5 'AgentTooOld' "Logtail before 2.0 lacks the options this tool's configs need; nothing was changed" }
  }
}

function Invoke-Authorize {
  Assert-AgentVersion
  try {
    if (-not (Test-Path -LiteralPath $UsersDir)) { New-Item -ItemType Directory -Path $UsersDir -Force | Out-Null }
    $uidFile = Join-Path $UsersDir $State.Uid
    if (-not (Test-Path -LiteralPath $uidFile)) {
      New-Item -ItemType File -Path $uidFile | Out-Null
      $State.UidFileChanged = $true
    }
  } catch { Exit-Failure 4 'WriteFailed' 'cannot create the UID file' }
  Update-IdentifierFile $true
}

function Invoke-Revoke {
  Update-IdentifierFile $false
  $uidFile = Join-Path $UsersDir $State.Uid
  $remaining = @(Get-IdentifierLines)
  $stillNeeded = $false
  foreach ($other in $State.OtherIds) { if ($remaining -ccontains $other) { $stillNeeded = $true } }
  if ((Test-Path -LiteralPath $uidFile) -and -not $stillNeeded) {
    try { Remove-Item -LiteralPath $uidFile -Force } catch { Exit-Failure 4 'WriteFailed' 'cannot remove the UID file' }
    $State.UidFileChanged = $true
  }
}

function Find-Agent {
  foreach ($name in @('LogtailDaemon', 'LogtailWorker')) {
    $service = Get-Service -Name $name -ErrorAction SilentlyContinue
    if ($null -ne $service) {
      $State.Flavor = 'ilogtail'; $State.Control = 'service'; $State.Service = $name
      return
    }
  }
}

function Update-Agent {
  Find-Agent
  if ($null -eq $State.Service) { return }
  $changed = $State.UidFileChanged -or $State.IdFileChanged
  # A stopped agent never reads the identifier: authorize starts it (revoke leaves it alone).
  if (-not $changed -and $State.Action -eq 'authorize') {
    $current = Get-Service -Name $State.Service -ErrorAction SilentlyContinue
    $changed = ($null -eq $current -or $current.Status -ne 'Running')
  }
  $wants = ($State.RestartMode -eq 'always') -or ($State.RestartMode -eq 'changed' -and $changed)
  if ($wants) {
    try { Restart-Service -Name $State.Service -Force; $State.Restarted = $true }
    catch { $State.RestartError = "the agent's restart command failed" }
  }
  $service = Get-Service -Name $State.Service -ErrorAction SilentlyContinue
  $State.Running = ($null -ne $service -and $service.Status -eq 'Running')
}

Read-Arguments @($LtxArguments)
if ($State.Action -eq 'authorize' -or ($State.Action -eq 'revoke' -and (Test-Path -LiteralPath $DataDir))) {
  Assert-SafePaths
  if (-not (Test-Path -LiteralPath $DataDir)) {
    try { New-Item -ItemType Directory -Path $DataDir -Force | Out-Null } catch { Exit-Failure 4 'WriteFailed' 'cannot create C:\LogtailData' }
  }
  # A named mutex serializes concurrent runs; Windows releases it when its holder dies.
  $mutex = New-Object System.Threading.Mutex($false, 'Global\logtail-xacct-host-script')
  $held = $false
  try { $held = $mutex.WaitOne([TimeSpan]::FromSeconds($LockWaitSeconds)) } catch [System.Threading.AbandonedMutexException] { $held = $true }
  if (-not $held) { Exit-Failure 3 'LockTimeout' 'another logtail-xacct run holds the lock' }
  try {
    if ($State.Action -eq 'authorize') { Invoke-Authorize } else { Invoke-Revoke }
  } finally {
    $mutex.ReleaseMutex()
  }
}
Update-Agent
Write-Report $true $null $null
exit 0
