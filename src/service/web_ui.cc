// The web UI: one page, its script and style inline, no build step. It talks to the same REST API as
// every client (docs/SERVICE.md "Web UI"); the API key comes from the URL fragment (#key=..., which
// `airlock serve --local` prints and which never reaches a server log) or the key field, and is kept in
// localStorage. Untrusted text (names, verdicts from reports) is only ever set with textContent; a
// report is shown in an iframe with srcdoc and an empty sandbox (no script, no same origin).
#include "service/api.h"

namespace airlock::service {

const std::string& WebUiHtml() {
  static const std::string kPage = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>airlock</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
header{background:#1d2330;color:#fff;padding:10px 18px;display:flex;gap:18px;align-items:center}
header h1{font-size:18px;margin:0}header nav a{color:#cfd6e4;margin-right:12px;cursor:pointer;text-decoration:none}
header nav a.on{color:#fff;font-weight:600}main{padding:16px 18px}
#drop{border:2px dashed #8a94a8;border-radius:8px;padding:28px;text-align:center;background:#fff;margin-bottom:14px}
#drop.over{background:#e4ecff;border-color:#3657c8}
table{border-collapse:collapse;width:100%;background:#fff}td,th{padding:6px 8px;border-bottom:1px solid #e1e4ea;text-align:left}
.malicious{color:#b00020;font-weight:600}.suspicious{color:#b86e00;font-weight:600}.clean{color:#1b7a36}
.state-running{color:#3657c8}.state-failed{color:#b00020}.muted{color:#6b7488}
input,select,button{font:inherit;padding:4px 8px}#msg{margin:8px 0;min-height:1.2em}
iframe{width:100%;height:75vh;border:1px solid #cfd4de;background:#fff}.card{background:#fff;padding:12px;margin-bottom:12px;border-radius:6px}
</style></head><body>
<header><h1>airlock</h1><nav><a data-view="tasks" class="on">Tasks</a><a data-view="search">Search</a><a data-view="farm">Farm</a></nav>
<span style="flex:1"></span><label>API key <input id="key" type="password" size="24" autocomplete="off"></label></header>
<main>
<section id="view-tasks">
 <div id="drop">Drop files here to analyse, or <input id="file" type="file" multiple>
  <label>kind <select id="kind"><option value="static">static</option><option value="detonate">static + detonation</option></select></label>
  <label>timeout <input id="timeout" value="60" size="4">s</label></div>
 <div id="msg" class="muted"></div>
 <table><thead><tr><th>#</th><th>name</th><th>kind</th><th>state</th><th>verdict</th><th>techniques</th><th>submitted</th></tr></thead><tbody id="tasks"></tbody></table>
</section>
<section id="view-search" hidden>
 <form id="search" class="card">sha256 <input name="sha256" size="20"> verdict <select name="verdict"><option></option><option>clean</option><option>suspicious</option><option>malicious</option><option>error</option></select>
 technique <input name="technique" size="9"> name <input name="name" size="12"> <button>Search</button></form>
 <table><tbody id="results"></tbody></table>
</section>
<section id="view-farm" hidden><div id="farm" class="card"></div><table><thead><tr><th>worker</th><th>host</th><th>kinds</th><th>busy</th><th>analyses</th><th>alive</th></tr></thead><tbody id="workers"></tbody></table></section>
<section id="view-report" hidden><p><a id="back" href="#">&larr; tasks</a> <span id="rtitle"></span> <a id="rjson" href="#">JSON</a>
 <button id="bverify" hidden>verify on another worker</button> <span id="rverify" class="muted"></span></p><iframe id="report" sandbox=""></iframe></section>
</main>
<script>
"use strict";
const $=id=>document.getElementById(id);
const frag=new URLSearchParams(location.hash.slice(1));
if(frag.get("key")){localStorage.setItem("airlock-key",frag.get("key"));history.replaceState(null,"",location.pathname);}
$("key").value=localStorage.getItem("airlock-key")||"";
$("key").addEventListener("change",()=>localStorage.setItem("airlock-key",$("key").value));
function api(path,opt={}){opt.headers=Object.assign({"Authorization":"Bearer "+$("key").value},opt.headers||{});
 return fetch(path,opt).then(async r=>{const ct=r.headers.get("content-type")||"";const body=ct.includes("json")?await r.json():await r.text();
 if(!r.ok)throw new Error((body&&body.error)||("HTTP "+r.status));return body;});}
function cell(tr,text,cls){const td=document.createElement("td");td.textContent=text==null?"":String(text);if(cls)td.className=cls;tr.appendChild(td);return td;}
function row(t){const tr=document.createElement("tr");tr.dataset.id=t.id;
 const a=document.createElement("a");a.href="#";a.textContent=t.id;a.onclick=e=>{e.preventDefault();openReport(t);};
 tr.appendChild(document.createElement("td")).appendChild(a);
 cell(tr,t.name);cell(tr,t.options&&t.options.kind);cell(tr,t.state+(t.attempts>1?" (attempt "+t.attempts+")":""),"state-"+t.state);
 cell(tr,t.verdict||"",t.verdict||"");cell(tr,(t.techniques||[]).join(", "));cell(tr,t.submitted_at,"muted");return tr;}
function fill(tbody,tasks){tbody.replaceChildren(...tasks.map(row));}
function refresh(){api("/api/v1/tasks?limit=50").then(r=>fill($("tasks"),r.tasks)).catch(e=>$("msg").textContent=e.message);}
function submit(files){for(const f of files){const fd=new FormData();fd.append("file",f,f.name);fd.append("kind",$("kind").value);fd.append("timeout",$("timeout").value);
 api("/api/v1/tasks",{method:"POST",body:fd}).then(r=>{$("msg").textContent="submitted "+f.name+" as task "+r.task_id+(r.duplicate?" (already analysed or queued: shares that result)":"");refresh();})
 .catch(e=>$("msg").textContent=f.name+": "+e.message);}}
const drop=$("drop");
drop.addEventListener("dragover",e=>{e.preventDefault();drop.classList.add("over");});
drop.addEventListener("dragleave",()=>drop.classList.remove("over"));
drop.addEventListener("drop",e=>{e.preventDefault();drop.classList.remove("over");submit(e.dataTransfer.files);});
$("file").addEventListener("change",e=>submit(e.target.files));
function show(view){for(const s of document.querySelectorAll("main>section"))s.hidden=s.id!=="view-"+view;
 for(const a of document.querySelectorAll("header nav a"))a.classList.toggle("on",a.dataset.view===view);if(view==="farm")farm();}
for(const a of document.querySelectorAll("header nav a"))a.onclick=()=>show(a.dataset.view);
$("back").onclick=e=>{e.preventDefault();history.replaceState(null,"",location.pathname);show("tasks");};
function verifyText(v){if(v.state==="failed")return "verification failed: "+((v.rerun&&v.rerun.error)||"");
 if(v.state!=="done")return "verification "+v.state+"…";
 return v.agree?"verified on "+v.rerun.worker+": same verdict ("+v.rerun.verdict+"), score and techniques"
  :"verification on "+v.rerun.worker+" differs: "+v.differences.join("; ");}
// The task's verification, if any (404: none yet); polled while it runs.
function showVerify(id,polls){api("/api/v1/tasks/"+id+"/verify").then(v=>{$("rverify").textContent=verifyText(v);
 if((v.state==="queued"||v.state==="running")&&polls>0)setTimeout(()=>showVerify(id,polls-1),1000);})
 .catch(()=>$("rverify").textContent="");}
function openReport(t){show("report");$("rtitle").textContent="task "+t.id+": "+t.name+" — "+t.state;
 history.replaceState(null,"","#task="+t.id);$("rverify").textContent="";$("bverify").hidden=t.state!=="done";
 $("bverify").onclick=()=>api("/api/v1/tasks/"+t.id+"/verify",{method:"POST"}).then(()=>showVerify(t.id,120)).catch(e=>$("rverify").textContent=e.message);
 if(t.state==="done")showVerify(t.id,0);
 $("rjson").onclick=e=>{e.preventDefault();api("/api/v1/tasks/"+t.id+"/report").then(j=>{$("report").srcdoc="<pre>"+JSON.stringify(j,null,2).replace(/&/g,"&amp;").replace(/</g,"&lt;")+"</pre>";});};
 if(t.state!=="done"){$("report").srcdoc="<p>"+(t.error?"failed: ":"not finished yet")+"</p>";return;}
 api("/api/v1/tasks/"+t.id+"/report.html").then(h=>$("report").srcdoc=h).catch(e=>$("report").srcdoc="<p>report unavailable</p>");}
$("search").onsubmit=e=>{e.preventDefault();const q=new URLSearchParams();for(const [k,v] of new FormData($("search")))if(v)q.set(k,v);
 api("/api/v1/tasks?"+q).then(r=>fill($("results"),r.tasks)).catch(err=>{$("results").replaceChildren();const tr=document.createElement("tr");cell(tr,err.message);$("results").appendChild(tr);});};
function farm(){api("/api/v1/status").then(s=>{const f=$("farm");f.replaceChildren();
 const p=document.createElement("p");p.textContent="queue: "+Object.entries(s.queue).map(([k,v])=>k+" "+v).join(", ")+" · tasks: "+Object.entries(s.tasks).map(([k,v])=>k+" "+v).join(", ")+" · dead letters: "+s.dead_letters+" · airlock "+s.fingerprint.airlock_version;f.appendChild(p);
 $("workers").replaceChildren(...s.workers.map(w=>{const tr=document.createElement("tr");cell(tr,w.id);cell(tr,w.host);cell(tr,(w.kinds||[]).join(","));cell(tr,w.busy+"/"+w.capacity);cell(tr,w.analyses);cell(tr,w.alive?"yes":"no ("+w.seen_s_ago+" s)");return tr;}));}).catch(e=>$("farm").textContent=e.message);}
refresh();
// A link to a task (#task=ID, as the report view sets it) opens its report.
if(/^[0-9]{1,16}$/.test(frag.get("task")||""))api("/api/v1/tasks/"+frag.get("task")).then(openReport).catch(e=>$("msg").textContent=e.message);
setInterval(()=>{if(!$("view-tasks").hidden)refresh();if(!$("view-farm").hidden)farm();},2000);
</script></body></html>
)HTML";
  return kPage;
}

}  // namespace airlock::service
